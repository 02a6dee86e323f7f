import type { DatabaseSync, StatementSync } from 'node:sqlite'

/** Content blobs by CID (the caller verifies the CID; this only keeps bytes). */
export class BlobRepo {
  readonly #put: StatementSync
  readonly #get: StatementSync
  readonly #has: StatementSync
  readonly #delete: StatementSync
  readonly #count: StatementSync

  constructor(db: DatabaseSync) {
    // Same CID, same bytes: a second put is a no-op.
    this.#put = db.prepare('INSERT OR IGNORE INTO blobs (cid, bytes, stored_at) VALUES (?, ?, ?)')
    this.#get = db.prepare('SELECT bytes FROM blobs WHERE cid = ?')
    this.#has = db.prepare('SELECT 1 AS found FROM blobs WHERE cid = ?')
    this.#delete = db.prepare('DELETE FROM blobs WHERE cid = ?')
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM blobs')
  }

  put(cid: string, bytes: Uint8Array): void {
    this.#put.run(cid, bytes, Date.now())
  }

  get(cid: string): Uint8Array | undefined {
    const row = this.#get.get(cid) as { bytes: Uint8Array } | undefined
    return row?.bytes
  }

  has(cid: string): boolean {
    return this.#has.get(cid) !== undefined
  }

  delete(cid: string): void {
    this.#delete.run(cid)
  }

  get size(): number {
    return Number((this.#count.get() as { n: number }).n)
  }
}
