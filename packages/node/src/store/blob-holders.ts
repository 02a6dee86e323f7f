import type { DatabaseSync, StatementSync } from 'node:sqlite'

/**
 * Whether anything but a provider job may still need a blob: a requester job (its module,
 * inputs, and the output it fetched, which is the user's result), a voucher job of either
 * role, or a referee duty that committed to the receipt. A substring match on the stored JSON
 * can only over-match, which keeps a blob, never loses one.
 */
export class BlobHolders {
  readonly #held: StatementSync

  constructor(db: DatabaseSync) {
    this.#held = db.prepare(`
      SELECT 1 AS found WHERE
        EXISTS (SELECT 1 FROM requester_jobs
                WHERE instr(descriptor, ?1) > 0 OR instr(COALESCE(outcome, ''), ?1) > 0
                   OR instr(COALESCE(outcome, ''), ?2) > 0)
        OR EXISTS (SELECT 1 FROM voucher_jobs WHERE instr(record, ?1) > 0 OR instr(lower(record), ?2) > 0)
        OR EXISTS (SELECT 1 FROM referee_duties WHERE lower(result_hash) = ?2)`)
  }

  /** `resultHash`: the CID's sha2-256 digest as 0x-hex (how receipts are named on-chain). */
  heldOutsideProviderJobs(cid: string, resultHash: string): boolean {
    return this.#held.get(cid, resultHash.toLowerCase()) !== undefined
  }
}
