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

/** What the API and the metrics show of a job: never the salt, commitment or announcement. */
export interface ProviderJobSummary {
  jobId: bigint
  phase: string
  pricePerFuel?: bigint
  reason?: string
  fuelUsed?: bigint
  updatedAt: number
}

/** A job whose blobs the retention sweep may let go (blob-retention.ts). */
export interface ProviderJobBlobs {
  jobId: bigint
  phase: string
  receiptCid: string
  /** '' when the receipt could not be read; undefined until the sweep has read it. */
  outputCid?: string
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
  updated_at: number
}

/** Provider job records: one row per job, every field written in one statement. */
export class ProviderJobRepo {
  readonly #upsert: StatementSync
  readonly #get: StatementSync
  readonly #byPhase: StatementSync
  readonly #newest: StatementSync
  readonly #newestInPhase: StatementSync
  readonly #counts: StatementSync
  readonly #unindexed: StatementSync
  readonly #setOutput: StatementSync
  readonly #expired: StatementSync
  readonly #release: StatementSync
  readonly #holds: StatementSync
  readonly #output: StatementSync

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
        blobs_released = CASE WHEN excluded.phase = phase THEN blobs_released ELSE 0 END,
        updated_at = excluded.updated_at`)
    this.#get = db.prepare('SELECT * FROM provider_jobs WHERE job_id = ?')
    this.#byPhase = db.prepare('SELECT * FROM provider_jobs WHERE phase = ? ORDER BY updated_at')
    const summary = 'job_id, phase, price_per_fuel, reason, fuel_used, updated_at'
    this.#newest = db.prepare(
      `SELECT ${summary} FROM provider_jobs ORDER BY updated_at DESC, job_id DESC LIMIT ?`,
    )
    this.#newestInPhase = db.prepare(
      `SELECT ${summary} FROM provider_jobs WHERE phase = ? ORDER BY updated_at DESC, job_id DESC LIMIT ?`,
    )
    this.#counts = db.prepare('SELECT phase, COUNT(*) AS n FROM provider_jobs GROUP BY phase')
    this.#unindexed = db.prepare(
      'SELECT job_id, receipt_cid FROM provider_jobs WHERE receipt_cid IS NOT NULL AND output_cid IS NULL LIMIT ?',
    )
    this.#setOutput = db.prepare('UPDATE provider_jobs SET output_cid = ? WHERE job_id = ?')
    this.#expired = db.prepare(`
      SELECT job_id, phase, receipt_cid, output_cid FROM provider_jobs
      WHERE blobs_released = 0 AND receipt_cid IS NOT NULL AND updated_at < ?
        AND phase IN (SELECT value FROM json_each(?))
      ORDER BY updated_at LIMIT ?`)
    this.#output = db.prepare('SELECT output_cid FROM provider_jobs WHERE job_id = ?')
    this.#release = db.prepare('UPDATE provider_jobs SET blobs_released = 1 WHERE job_id = ?')
    this.#holds = db.prepare(`
      SELECT 1 AS found FROM provider_jobs
      WHERE blobs_released = 0 AND (receipt_cid = ?1 OR output_cid = ?1) LIMIT 1`)
  }

  /** Inserts or updates; fields left undefined keep their stored value. `now`: for tests. */
  save(job: StoredProviderJob, now = Date.now()): void {
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
      updated_at: now,
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

  /** The most recently changed jobs first, at most `limit`, optionally of one phase only. */
  list(options: { limit: number; phase?: string | undefined }): ProviderJobSummary[] {
    const rows = (options.phase === undefined
      ? this.#newest.all(options.limit)
      : this.#newestInPhase.all(options.phase, options.limit)) as unknown as Row[]
    return rows.map(summaryOf)
  }

  /** How many stored jobs are in each phase. */
  countByPhase(): Map<string, number> {
    const rows = this.#counts.all() as { phase: string; n: number }[]
    return new Map(rows.map((r) => [r.phase, Number(r.n)]))
  }

  // ---- blob retention (provider/blob-retention.ts) ----

  /** Jobs with a receipt whose output CID has not been read from it yet. */
  receiptsToIndex(limit: number): { jobId: bigint; receiptCid: string }[] {
    const rows = this.#unindexed.all(limit) as { job_id: string; receipt_cid: string }[]
    return rows.map((r) => ({ jobId: BigInt(r.job_id), receiptCid: r.receipt_cid }))
  }

  /** Records the output CID a job's receipt names ('' when the receipt cannot be read). */
  setOutputCid(jobId: bigint, outputCid: string): void {
    this.#setOutput.run(outputCid, jobId.toString())
  }

  /** Jobs in `phases` unchanged since before `before` whose blobs are not released yet, oldest first. */
  expiredWithBlobs(phases: readonly string[], before: number, limit: number): ProviderJobBlobs[] {
    const rows = this.#expired.all(before, JSON.stringify(phases), limit) as {
      job_id: string
      phase: string
      receipt_cid: string
      output_cid: string | null
    }[]
    return rows.map((r) => ({
      jobId: BigInt(r.job_id),
      phase: r.phase,
      receiptCid: r.receipt_cid,
      ...(r.output_cid !== null ? { outputCid: r.output_cid } : {}),
    }))
  }

  /** The output CID read from the job's receipt ('' unknown, undefined not read yet). */
  outputCidOf(jobId: bigint): string | undefined {
    const row = this.#output.get(jobId.toString()) as { output_cid: string | null } | undefined
    return row?.output_cid ?? undefined
  }

  /** Marks a job's blobs as no longer needed by it (reset by any later phase change). */
  releaseBlobs(jobId: bigint): void {
    this.#release.run(jobId.toString())
  }

  /** Whether a job whose blobs are not released names `cid` as its receipt or output. */
  holdsBlob(cid: string): boolean {
    return this.#holds.get(cid) !== undefined
  }
}

function summaryOf(
  row: Pick<Row, 'job_id' | 'phase' | 'price_per_fuel' | 'reason' | 'fuel_used' | 'updated_at'>,
): ProviderJobSummary {
  return {
    jobId: BigInt(row.job_id),
    phase: row.phase,
    ...(row.price_per_fuel !== null ? { pricePerFuel: BigInt(row.price_per_fuel) } : {}),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    ...(row.fuel_used !== null ? { fuelUsed: BigInt(row.fuel_used) } : {}),
    updatedAt: Number(row.updated_at),
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
