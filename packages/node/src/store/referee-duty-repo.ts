import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { Hex } from 'viem'

/** A referee duty as stored: the salt is written before the commit that uses it. */
export interface StoredRefereeDuty {
  disputeId: bigint
  jobId?: bigint
  phase: 'committing' | 'committed' | 'revealed' | 'done'
  resultHash?: Hex
  fuelUsed?: bigint
  salt?: Hex
}

interface Row {
  dispute_id: string
  job_id: string | null
  phase: StoredRefereeDuty['phase']
  result_hash: string | null
  fuel_used: string | null
  salt: string | null
}

export class RefereeDutyRepo {
  readonly #upsert: StatementSync
  readonly #get: StatementSync
  readonly #open: StatementSync

  constructor(db: DatabaseSync) {
    this.#upsert = db.prepare(`
      INSERT INTO referee_duties (dispute_id, job_id, phase, result_hash, fuel_used, salt, updated_at)
      VALUES (:dispute_id, :job_id, :phase, :result_hash, :fuel_used, :salt, :updated_at)
      ON CONFLICT (dispute_id) DO UPDATE SET
        job_id = COALESCE(excluded.job_id, job_id),
        phase = excluded.phase,
        result_hash = COALESCE(excluded.result_hash, result_hash),
        fuel_used = COALESCE(excluded.fuel_used, fuel_used),
        salt = COALESCE(excluded.salt, salt),
        updated_at = excluded.updated_at`)
    this.#get = db.prepare('SELECT * FROM referee_duties WHERE dispute_id = ?')
    this.#open = db.prepare("SELECT * FROM referee_duties WHERE phase <> 'done' ORDER BY updated_at")
  }

  save(duty: StoredRefereeDuty): void {
    this.#upsert.run({
      dispute_id: duty.disputeId.toString(),
      job_id: duty.jobId?.toString() ?? null,
      phase: duty.phase,
      result_hash: duty.resultHash ?? null,
      fuel_used: duty.fuelUsed?.toString() ?? null,
      salt: duty.salt ?? null,
      updated_at: Date.now(),
    })
  }

  get(disputeId: bigint): StoredRefereeDuty | undefined {
    const row = this.#get.get(disputeId.toString()) as Row | undefined
    return row ? fromRow(row) : undefined
  }

  /** Duties not yet done, to resume after a restart. */
  open(): StoredRefereeDuty[] {
    return (this.#open.all() as unknown as Row[]).map(fromRow)
  }
}

function fromRow(row: Row): StoredRefereeDuty {
  return {
    disputeId: BigInt(row.dispute_id),
    phase: row.phase,
    ...(row.job_id !== null ? { jobId: BigInt(row.job_id) } : {}),
    ...(row.result_hash !== null ? { resultHash: row.result_hash as Hex } : {}),
    ...(row.fuel_used !== null ? { fuelUsed: BigInt(row.fuel_used) } : {}),
    ...(row.salt !== null ? { salt: row.salt as Hex } : {}),
  }
}
