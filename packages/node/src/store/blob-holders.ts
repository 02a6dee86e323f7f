import type { DatabaseSync, StatementSync } from 'node:sqlite'

/** Long alphanumeric runs in stored JSON: every CID and 0x-hash in it, among other words. */
const TOKEN = /[A-Za-z0-9]{20,}/g

/**
 * Whether anything but a provider job may still need a blob: a requester job (its module,
 * inputs, and the output it fetched, which is the user's result), a voucher job of either
 * role, or a referee duty that committed to the receipt. Every long token of those records is
 * collected in one pass; a match can only be too broad, which keeps a blob, never loses one.
 */
export class BlobHolders {
  readonly #requester: StatementSync
  readonly #voucher: StatementSync
  readonly #referee: StatementSync

  constructor(db: DatabaseSync) {
    this.#requester = db.prepare(
      "SELECT descriptor || ' ' || COALESCE(outcome, '') AS text FROM requester_jobs",
    )
    this.#voucher = db.prepare('SELECT record AS text FROM voucher_jobs')
    this.#referee = db.prepare("SELECT COALESCE(result_hash, '') AS text FROM referee_duties")
  }

  /**
   * What those records name now. Take it and act on it in one synchronous stretch (the
   * retention sweep's transaction), so no record is written in between.
   */
  snapshot(): { holds(cid: string, resultHash: string): boolean } {
    const tokens = new Set<string>()
    for (const statement of [this.#requester, this.#voucher, this.#referee]) {
      for (const row of statement.iterate() as Iterable<{ text: string }>) {
        for (const match of row.text.matchAll(TOKEN)) tokens.add(match[0].toLowerCase())
      }
    }
    return {
      holds: (cid, resultHash) => tokens.has(cid.toLowerCase()) || tokens.has(resultHash.toLowerCase()),
    }
  }
}
