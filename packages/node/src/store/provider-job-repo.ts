import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { BidMessageWire, JobAnnouncement } from '@bazaar/protocol'
import type { Hex } from 'viem'
import { decodeJson, encodeJson } from './json-codec.ts'

/** A provider's job as stored: its phase, and what it needs to finish the job after a restart. */
export interface StoredProviderJob {
  jobId: bigint
  phase: string
  pricePerFuel?: bigint
  reason?: string
  fuelUsed?: bigint
  /** The job as announced: enough to run it again. */
  announcement?: JobAnnouncement
  /** The signed bid as sent, to stand by it after a restart. */
  bidMessage?: BidMessageWire
  /** Written before commitResult, so a restarted node reveals the same commitment. */
  salt?: Hex
  commitment?: Hex
  resultHash?: Hex
  receiptCid?: string
}

interface Row {
  job_id: string
  phase: string
  price_per_fuel: string | null
  reason: string | null
  fuel_used: string | null
  announcement: string | null
  bid_message: string | null
  salt: string | null
  commitment: string | null
  result_hash: string | null
  receipt_cid: string | null
}

/** Provider job records: one row per job, every field written in one statement. */
export class ProviderJobRepo {
  readonly #upsert: StatementSync
  readonly #get: StatementSync
  readonly #byPhase: StatementSync

  constructor(db: DatabaseSync) {
    // COALESCE keeps fields an update does not mention, so a phase change never drops a salt.
    this.#upsert = db.prepare(`
      INSERT INTO provider_jobs (job_id, phase, price_per_fuel, reason, fuel_used, announcement,
        bid_message, salt, commitment, result_hash, receipt_cid, updated_at)
      VALUES (:job_id, :phase, :price_per_fuel, :reason, :fuel_used, :announcement, :bid_message,
        :salt, :commitment, :result_hash, :receipt_cid, :updated_at)
      ON CONFLICT (job_id) DO UPDATE SET
        phase = excluded.phase,
        price_per_fuel = COALESCE(excluded.price_per_fuel, price_per_fuel),
        reason = COALESCE(excluded.reason, reason),
        fuel_used = COALESCE(excluded.fuel_used, fuel_used),
        announcement = COALESCE(excluded.announcement, announcement),
        bid_message = COALESCE(excluded.bid_message, bid_message),
        salt = COALESCE(excluded.salt, salt),
        commitment = COALESCE(excluded.commitment, commitment),
        result_hash = COALESCE(excluded.result_hash, result_hash),
        receipt_cid = COALESCE(excluded.receipt_cid, receipt_cid),
        updated_at = excluded.updated_at`)
    this.#get = db.prepare('SELECT * FROM provider_jobs WHERE job_id = ?')
    this.#byPhase = db.prepare('SELECT * FROM provider_jobs WHERE phase = ? ORDER BY updated_at')
  }

  /** Inserts or updates; fields left undefined keep their stored value. */
  save(job: StoredProviderJob): void {
    this.#upsert.run({
      job_id: job.jobId.toString(),
      phase: job.phase,
      price_per_fuel: job.pricePerFuel?.toString() ?? null,
      reason: job.reason ?? null,
      fuel_used: job.fuelUsed?.toString() ?? null,
      announcement: job.announcement ? encodeJson(job.announcement) : null,
      bid_message: job.bidMessage ? encodeJson(job.bidMessage) : null,
      salt: job.salt ?? null,
      commitment: job.commitment ?? null,
      result_hash: job.resultHash ?? null,
      receipt_cid: job.receiptCid ?? null,
      updated_at: Date.now(),
    })
  }

  get(jobId: bigint): StoredProviderJob | undefined {
    const row = this.#get.get(jobId.toString()) as Row | undefined
    return row ? fromRow(row) : undefined
  }

  /** Jobs in any of these phases, oldest change first. */
  inPhases(phases: readonly string[]): StoredProviderJob[] {
    return phases.flatMap((phase) => (this.#byPhase.all(phase) as unknown as Row[]).map(fromRow))
  }
}

function fromRow(row: Row): StoredProviderJob {
  return {
    jobId: BigInt(row.job_id),
    phase: row.phase,
    ...(row.price_per_fuel !== null ? { pricePerFuel: BigInt(row.price_per_fuel) } : {}),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    ...(row.fuel_used !== null ? { fuelUsed: BigInt(row.fuel_used) } : {}),
    ...(row.announcement !== null ? { announcement: decodeJson<JobAnnouncement>(row.announcement) } : {}),
    ...(row.bid_message !== null ? { bidMessage: decodeJson<BidMessageWire>(row.bid_message) } : {}),
    ...(row.salt !== null ? { salt: row.salt as Hex } : {}),
    ...(row.commitment !== null ? { commitment: row.commitment as Hex } : {}),
    ...(row.result_hash !== null ? { resultHash: row.result_hash as Hex } : {}),
    ...(row.receipt_cid !== null ? { receiptCid: row.receipt_cid } : {}),
  }
}
