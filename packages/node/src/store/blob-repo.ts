import type { DatabaseSync, StatementSync } from 'node:sqlite'

/**
 * A blob put again refreshes its `stored_at` when that is older than this, so the retention
 * sweep (provider/blob-retention.ts) sees recent use without a row rewrite on every put.
 */
export const BLOB_TOUCH_MS = 10 * 60_000

/** Content blobs by CID (the caller verifies the CID; this only keeps bytes). */
export class BlobRepo {
  readonly #put: StatementSync
  readonly #get: StatementSync
  readonly #has: StatementSync
  readonly #info: StatementSync
  readonly #delete: StatementSync
  readonly #count: StatementSync

  constructor(db: DatabaseSync) {
    // Same CID, same bytes: a second put only refreshes the time (at most every BLOB_TOUCH_MS).
    this.#put = db.prepare(`
      INSERT INTO blobs (cid, bytes, stored_at) VALUES (?1, ?2, ?3)
      ON CONFLICT (cid) DO UPDATE SET stored_at = excluded.stored_at
      WHERE stored_at < excluded.stored_at - ?4`)
    this.#get = db.prepare('SELECT bytes FROM blobs WHERE cid = ?')
    this.#has = db.prepare('SELECT 1 AS found FROM blobs WHERE cid = ?')
    this.#info = db.prepare('SELECT length(bytes) AS size, stored_at FROM blobs WHERE cid = ?')
    this.#delete = db.prepare('DELETE FROM blobs WHERE cid = ?')
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM blobs')
  }

  put(cid: string, bytes: Uint8Array, now = Date.now()): void {
    this.#put.run(cid, bytes, now, BLOB_TOUCH_MS)
  }

  get(cid: string): Uint8Array | undefined {
    const row = this.#get.get(cid) as { bytes: Uint8Array } | undefined
    return row?.bytes
  }

  has(cid: string): boolean {
    return this.#has.get(cid) !== undefined
  }

  /** Size in bytes and when it was stored (or last put again), without reading the bytes. */
  info(cid: string): { size: number; storedAt: number } | undefined {
    const row = this.#info.get(cid) as { size: number; stored_at: number } | undefined
    return row ? { size: Number(row.size), storedAt: Number(row.stored_at) } : undefined
  }

  delete(cid: string): void {
    this.#delete.run(cid)
  }

  get size(): number {
    return Number((this.#count.get() as { n: number }).n)
  }
}
