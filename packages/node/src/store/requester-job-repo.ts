import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { BidMessageWire, JobDescriptor } from '@bazaar/protocol'
import { decodeJson, encodeJson } from './json-codec.ts'

/**
 * Where a requester's job stands, for resuming it: `auction` (escrow locked, collecting bids),
 * `awarding` (a bid chosen, award sent or about to be), `awarded` (waiting for the reveal, then
 * verify and settle), `ended` (outcome recorded).
 */
export type RequesterStep = 'auction' | 'awarding' | 'awarded' | 'ended'

export interface StoredRequesterJob {
  jobId: bigint
  name: string
  step: RequesterStep
  descriptor: JobDescriptor
  escrow: bigint
  submittedAt: number
  winner?: BidMessageWire
  bidsReceived: number
  gasUsed: bigint
  auditCaseId?: bigint
  /** The API state: `running` until the job ends, then the outcome's status or `error`. */
  state: string
  /** The outcome without its output bytes (they are in the content store by CID). */
  outcome?: unknown
  error?: { code: string; message: string; hint?: string }
}

type Update = Partial<
  Pick<
    StoredRequesterJob,
    'step' | 'winner' | 'bidsReceived' | 'gasUsed' | 'auditCaseId' | 'state' | 'outcome'
  >
> & {
  /** null clears a recorded error (a voucher job settled after it ended unverified). */
  error?: StoredRequesterJob['error'] | null
}

interface Row {
  job_id: string
  name: string
  step: RequesterStep
  descriptor: string
  escrow: string
  submitted_at: number
  winner: string | null
  bids_received: number
  gas_used: string
  audit_case_id: string | null
  state: string
  outcome: string | null
  error: string | null
}

/** Requester job records and each job's event timeline. */
export class RequesterJobRepo {
  readonly #db: DatabaseSync
  readonly #insert: StatementSync
  readonly #get: StatementSync
  readonly #all: StatementSync
  readonly #appendEvent: StatementSync
  readonly #events: StatementSync

  constructor(db: DatabaseSync) {
    this.#db = db
    this.#insert = db.prepare(`
      INSERT INTO requester_jobs (job_id, name, step, descriptor, escrow, submitted_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`)
    this.#get = db.prepare('SELECT * FROM requester_jobs WHERE job_id = ?')
    this.#all = db.prepare('SELECT * FROM requester_jobs ORDER BY submitted_at')
    // The next sequence number is computed in the same statement, so appends never collide.
    this.#appendEvent = db.prepare(`
      INSERT INTO requester_job_events (job_id, seq, event)
      VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM requester_job_events WHERE job_id = ?1), ?2)`)
    this.#events = db.prepare('SELECT event FROM requester_job_events WHERE job_id = ? ORDER BY seq')
  }

  create(job: Pick<StoredRequesterJob, 'jobId' | 'name' | 'descriptor' | 'escrow' | 'submittedAt'>): void {
    this.#insert.run(
      job.jobId.toString(),
      job.name,
      'auction',
      encodeJson(job.descriptor),
      job.escrow.toString(),
      job.submittedAt,
      Date.now(),
    )
  }

  update(jobId: bigint, update: Update): void {
    const columns: Record<string, string | number | null> = {}
    if (update.step !== undefined) columns.step = update.step
    if (update.winner !== undefined) columns.winner = encodeJson(update.winner)
    if (update.bidsReceived !== undefined) columns.bids_received = update.bidsReceived
    if (update.gasUsed !== undefined) columns.gas_used = update.gasUsed.toString()
    if (update.auditCaseId !== undefined) columns.audit_case_id = update.auditCaseId.toString()
    if (update.state !== undefined) columns.state = update.state
    if (update.outcome !== undefined) columns.outcome = encodeJson(update.outcome)
    if (update.error !== undefined) columns.error = update.error === null ? null : encodeJson(update.error)
    const names = Object.keys(columns)
    if (names.length === 0) return
    this.#db
      .prepare(
        `UPDATE requester_jobs SET ${names.map((n) => `${n} = :${n}`).join(', ')}, updated_at = :updated_at WHERE job_id = :job_id`,
      )
      .run({ ...columns, updated_at: Date.now(), job_id: jobId.toString() })
  }

  appendEvent(jobId: bigint, event: object): void {
    this.#appendEvent.run(jobId.toString(), encodeJson(event))
  }

  events<T>(jobId: bigint): T[] {
    return (this.#events.all(jobId.toString()) as { event: string }[]).map((r) => decodeJson<T>(r.event))
  }

  get(jobId: bigint): StoredRequesterJob | undefined {
    const row = this.#get.get(jobId.toString()) as Row | undefined
    return row ? fromRow(row) : undefined
  }

  /** How many jobs are in each API state (`running` until a job ends). */
  countByState(): Map<string, number> {
    const rows = this.#db.prepare('SELECT state, COUNT(*) AS n FROM requester_jobs GROUP BY state').all() as {
      state: string
      n: number
    }[]
    return new Map(rows.map((r) => [r.state, Number(r.n)]))
  }

  /** Every job, oldest first. */
  list(): StoredRequesterJob[] {
    return (this.#all.all() as unknown as Row[]).map(fromRow)
  }
}

function fromRow(row: Row): StoredRequesterJob {
  return {
    jobId: BigInt(row.job_id),
    name: row.name,
    step: row.step,
    descriptor: decodeJson<JobDescriptor>(row.descriptor),
    escrow: BigInt(row.escrow),
    submittedAt: row.submitted_at,
    bidsReceived: row.bids_received,
    gasUsed: BigInt(row.gas_used),
    state: row.state,
    ...(row.winner !== null ? { winner: decodeJson<BidMessageWire>(row.winner) } : {}),
    ...(row.audit_case_id !== null ? { auditCaseId: BigInt(row.audit_case_id) } : {}),
    ...(row.outcome !== null ? { outcome: decodeJson<unknown>(row.outcome) } : {}),
    ...(row.error !== null ? { error: decodeJson<StoredRequesterJob['error']>(row.error) } : {}),
  }
}
