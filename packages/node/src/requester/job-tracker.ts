import { BaseError, describeError, ErrorCode, isVoucherJobId } from '@bazaar/protocol'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { RequesterJobRepo, StoredRequesterJob } from '../store/requester-job-repo.ts'
import type { JobEvent } from './job-events.ts'
import type { PreparedJob } from './prepare-job.ts'
import type { JobOutcome, RequesterService } from './requester-service.ts'

export type TrackedJobState = 'running' | JobOutcome['status'] | 'error'

/** A job as the node's API reports it: identity, state, every event so far, and the outcome. */
export interface TrackedJob {
  id: string
  name: string
  state: TrackedJobState
  submittedAt: number
  events: (JobEvent & { at: number })[]
  outcome: JobOutcome | undefined
  error: { code: string; message: string; hint?: string } | undefined
}

/** A cancel that came too late (awarded, or ended). */
export class JobNotCancellableError extends BaseError {
  override name = 'JobNotCancellableError' as const
}

type Listener = (event: (JobEvent & { at: number }) | { type: 'end'; state: TrackedJobState }) => void

/** Ended jobs kept in memory with a database, most recent first out of it (default). */
const MAX_ENDED_IN_MEMORY = 200

/**
 * Runs jobs in the background and remembers them, so the API can answer for jobs in
 * flight and watchers can follow their events. With a database (docs/reliability.md),
 * `restore()` resumes the unfinished jobs, and ended jobs are read from the database (their
 * output from the content store, never deleted): memory holds the jobs in flight and the
 * most recently ended ones only. Without a database every job stays in memory (it is the only
 * copy of the user's results).
 */
export class JobTracker {
  private readonly jobs = new Map<string, TrackedJob>()
  /** Ended jobs still in memory (with a database), in the order they ended. */
  private readonly ended = new Map<string, TrackedJob>()
  private readonly maxEnded: number
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly inFlight = new Set<Promise<unknown>>()
  /** Per running job: how to stop its run, and the run itself (for `cancel`). */
  private readonly running = new Map<string, { abort: AbortController; run: Promise<unknown> }>()
  private readonly cancelled = new Set<string>()
  private readonly requester: RequesterService
  private readonly db: RequesterJobRepo | undefined
  private readonly store: Pick<ContentStore, 'get'> | undefined

  constructor(
    requester: RequesterService,
    persistence: { db?: RequesterJobRepo; store?: Pick<ContentStore, 'get'>; maxEndedInMemory?: number } = {},
  ) {
    this.requester = requester
    this.db = persistence.db
    this.store = persistence.store
    // Steps that come outside a job's run (a voucher signed after it ended, a claim): already on
    // the stored timeline; added to the job here and passed to its watchers.
    requester.onJobEvent((event) => {
      const id = event.jobId.toString()
      const job = this.jobs.get(id) ?? this.ended.get(id)
      if (!job) return
      job.events.push(event)
      // An ended job settled later (a voucher job verified or paid through its claim): its stored
      // end was rewritten before this event; the copy in memory takes it up.
      const stored =
        event.type === 'finalized' && job.state !== 'running' ? this.db?.get(event.jobId) : undefined
      if (stored?.step === 'ended') {
        job.state = stored.state as TrackedJobState
        job.outcome = {
          ...(stored.outcome as JobOutcome),
          ...(job.outcome?.output ? { output: job.outcome.output } : {}),
        }
        job.error = stored.error
      }
      for (const listener of this.listeners.get(job.id) ?? []) listener(event)
    })
    this.maxEnded = persistence.maxEndedInMemory ?? MAX_ENDED_IN_MEMORY
  }

  /**
   * Loads every stored job with its events; ended ones as they ended (outputs from the content
   * store), unfinished ones resumed in the background. Returns the ids resumed.
   */
  async restore(): Promise<string[]> {
    if (!this.db) return []
    const resumed: string[] = []
    for (const stored of this.db.list()) {
      const id = stored.jobId.toString()
      // Ended jobs stay in the database: get() and list() read them there.
      if (this.jobs.has(id) || stored.step === 'ended') continue
      const job: TrackedJob = { ...this.fromStored(stored), state: 'running' }
      this.jobs.set(id, job)
      resumed.push(id)
      const abort = new AbortController()
      this.track(job, abort, (onEvent) =>
        this.requester.resume(stored.jobId, { signal: abort.signal, onEvent }),
      )
    }
    return resumed
  }

  /** A stored job as the API shows it; the output stays in the content store (`outputOf`). */
  private fromStored(stored: StoredRequesterJob): TrackedJob {
    return {
      id: stored.jobId.toString(),
      name: stored.name,
      state: stored.step === 'ended' ? (stored.state as TrackedJobState) : 'running',
      submittedAt: stored.submittedAt,
      events: this.db?.events<JobEvent & { at: number }>(stored.jobId) ?? [],
      outcome: stored.step === 'ended' ? (stored.outcome as JobOutcome | undefined) : undefined,
      error: stored.error,
    }
  }

  /** A job's output: in memory while it is recent, else from the content store by its CID. */
  async outputOf(job: TrackedJob): Promise<Uint8Array | undefined> {
    if (job.outcome?.output) return job.outcome.output
    const receipt = job.outcome?.receipt
    const cid = receipt?.status === 'ok' ? receipt.outputCid : undefined
    return cid ? await this.store?.get(cid) : undefined
  }

  /** Follows a run to its end: events to the job and its listeners, then its outcome. */
  private track(
    job: TrackedJob,
    abort: AbortController,
    start: (onEvent: (event: JobEvent & { at: number }) => void) => Promise<JobOutcome>,
  ): void {
    const run: Promise<unknown> = start((event) => {
      job.events.push(event)
      for (const listener of this.listeners.get(job.id) ?? []) listener(event)
    })
      .then(
        (outcome) => {
          if (this.cancelled.has(job.id)) return
          job.outcome = outcome
          job.state = outcome.status
          job.error = outcome.error
          this.end(job)
        },
        (err: unknown) => {
          if (this.cancelled.has(job.id)) return
          job.state = 'error'
          const base = err as Partial<BaseError>
          job.error = {
            code: base.code ?? 'E_INTERNAL',
            message: describeError(err),
            ...(base.hint ? { hint: base.hint } : {}),
          }
          this.end(job)
        },
      )
      .finally(() => {
        this.inFlight.delete(run)
        this.running.delete(job.id)
      })
    this.inFlight.add(run)
    this.running.set(job.id, { abort, run })
  }

  /** Starts the job; resolves once it has an on-chain id (escrow locked), or rejects if it never got one. */
  submit(prepared: PreparedJob): Promise<TrackedJob> {
    return new Promise((resolve, reject) => {
      let job: TrackedJob | undefined
      const abort = new AbortController()
      // Settles when the run has ended. A path may emit `created` synchronously (the voucher
      // path has no transaction to wait for), before `run` below is assigned.
      const ended = Promise.withResolvers<void>()
      const run: Promise<unknown> = this.requester
        .run(prepared, {
          signal: abort.signal,
          onEvent: (event) => {
            if (!job && event.type === 'created') {
              job = {
                id: event.jobId.toString(),
                name: prepared.descriptor.name,
                state: 'running',
                submittedAt: Date.now(),
                events: [],
                outcome: undefined,
                error: undefined,
              }
              this.jobs.set(job.id, job)
              this.running.set(job.id, { abort, run: ended.promise })
              resolve(job)
            }
            if (job) {
              job.events.push(event)
              for (const listener of this.listeners.get(job.id) ?? []) listener(event)
            }
          },
        })
        .then(
          (outcome) => {
            if (!job || this.cancelled.has(job.id)) return
            job.outcome = outcome
            job.state = outcome.status
            job.error = outcome.error
            this.end(job)
          },
          (err: unknown) => {
            if (!job) return reject(err)
            if (this.cancelled.has(job.id)) return
            job.state = 'error'
            const base = err as Partial<BaseError>
            job.error = {
              code: base.code ?? 'E_INTERNAL',
              message: describeError(err),
              ...(base.hint ? { hint: base.hint } : {}),
            }
            this.end(job)
          },
        )
        .finally(() => {
          this.inFlight.delete(run)
          if (job) this.running.delete(job.id)
          ended.resolve()
        })
      this.inFlight.add(run)
    })
  }

  get(id: string): TrackedJob | undefined {
    const held = this.jobs.get(id) ?? this.ended.get(id)
    if (held || !this.db || !/^[0-9]{1,78}$/.test(id)) return held
    const stored = this.db.get(BigInt(id))
    return stored ? this.fromStored(stored) : undefined
  }

  /** Every job, newest first (from the database when there is one; events read on demand). */
  list(): TrackedJob[] {
    if (!this.db) return [...this.jobs.values()].sort((a, b) => b.submittedAt - a.submittedAt)
    const db = this.db
    const jobs = db.list().map((stored): TrackedJob => {
      const id = stored.jobId.toString()
      const held = this.jobs.get(id) ?? this.ended.get(id)
      if (held) return held
      let events: TrackedJob['events'] | undefined
      const job = this.fromStored({ ...stored })
      // Most callers want the summary only: the timeline is read when something looks at it.
      Object.defineProperty(job, 'events', {
        enumerable: true,
        get: () => {
          events ??= db.events<JobEvent & { at: number }>(stored.jobId)
          return events
        },
      })
      return job
    })
    // A job submitted before its row was written (there is none yet) is still listed.
    for (const job of this.jobs.values()) if (!jobs.some((j) => j.id === job.id)) jobs.push(job)
    return jobs.sort((a, b) => b.submittedAt - a.submittedAt)
  }

  /** Jobs by state (`running`, or how they ended), for the metrics. */
  countByState(): Map<string, number> {
    const counts = new Map<string, number>()
    if (this.db) {
      for (const [state, n] of this.db.countByState()) counts.set(state, n)
      return counts
    }
    for (const job of this.jobs.values()) counts.set(job.state, (counts.get(job.state) ?? 0) + 1)
    return counts
  }

  /** Follows a job: replays its past events, then live ones, then an `end` marker. Returns an unsubscribe. */
  follow(id: string, listener: Listener): () => void {
    const job = this.get(id)
    if (!job) return () => undefined
    for (const event of job.events) listener(event)
    if (job.state !== 'running') {
      listener({ type: 'end', state: job.state })
      return () => undefined
    }
    const wrapped: Listener = (event) => listener(event)
    const set = this.listeners.get(id) ?? new Set<Listener>()
    this.listeners.set(id, set)
    set.add(wrapped)
    return () => set.delete(wrapped)
  }

  /**
   * Cancels a job still in its auction: stops its run, then cancels it on-chain, which refunds
   * the whole escrow. An awarded job cannot be cancelled (the provider is already working and
   * its collateral is locked): it runs to the end and pays only the fuel used.
   */
  async cancel(id: string, chain: Pick<MarketChain, 'getJob' | 'cancelJob'>): Promise<TrackedJob> {
    const job = this.get(id)
    if (!job) throw new BaseError(ErrorCode.NotFound, `no job ${id} on this node`)
    const awarded = job.events.find((e) => e.type === 'awarded')
    if (job.state !== 'running' || awarded || this.cancelled.has(id)) {
      throw new JobNotCancellableError(
        ErrorCode.InvalidMessage,
        job.state !== 'running'
          ? `job ${id} already ended (${job.state})`
          : `job ${id} is already awarded to ${awarded && 'provider' in awarded ? awarded.provider : 'a provider'}`,
        {
          hint: 'only a job still collecting bids can be cancelled; an awarded job pays only the fuel it uses',
        },
      )
    }
    this.cancelled.add(id)
    const entry = this.running.get(id)
    entry?.abort.abort(new BaseError(ErrorCode.Aborted, `job ${id} cancelled by the requester`))
    await entry?.run.catch(() => undefined)
    const jobId = BigInt(id)
    if (isVoucherJobId(jobId)) {
      // A voucher job (docs/vouchers.md) has no escrow and no JobMarket job: stopping its auction
      // is all, unless its award went out before the stop took effect.
      const awardedLate = job.events.find((e) => e.type === 'awarded')
      if (awardedLate) {
        job.state = 'error'
        job.error = {
          code: ErrorCode.Aborted,
          message: `voucher job ${id} was awarded before the cancel took effect`,
          hint: 'the provider may still deliver; it is paid by voucher or by its claim',
        }
        this.db?.update(jobId, { step: 'ended', state: 'error', error: job.error })
        this.end(job)
        return job
      }
      return this.endCancelled(job, jobId, 0n, 0n)
    }
    const escrow = job.events.find((e) => e.type === 'created')?.escrow ?? 0n
    const onChain = await chain.getJob(jobId)
    if (onChain.status !== 'Open') {
      // The award transaction was already on its way when the cancel arrived.
      job.state = 'error'
      job.error = {
        code: ErrorCode.Aborted,
        message: `job ${id} was ${onChain.status.toLowerCase()} on-chain before the cancel took effect`,
        hint: 'the provider still reveals; anyone can finalize after the challenge window',
      }
      this.db?.update(jobId, { step: 'ended', state: 'error', error: job.error })
      this.end(job)
      return job
    }
    const { gasUsed } = await chain.cancelJob(jobId)
    return this.endCancelled(job, jobId, escrow, gasUsed)
  }

  /** Records a cancelled job: a `refunded` event, its whole escrow (if any) back, its end. */
  private endCancelled(job: TrackedJob, jobId: bigint, escrow: bigint, gasUsed: bigint): TrackedJob {
    const id = job.id
    const event = { type: 'refunded' as const, jobId, reason: 'cancelled by the requester', at: Date.now() }
    this.db?.appendEvent(jobId, event)
    job.events.push(event)
    for (const listener of this.listeners.get(id) ?? []) listener(event)
    job.state = 'refunded'
    job.outcome = {
      jobId,
      status: 'refunded',
      fuelUsed: 0n,
      escrow,
      paid: 0n,
      refunded: escrow,
      gasUsed,
      bidsReceived: job.events.filter((e) => e.type === 'bid').length,
      error: { code: ErrorCode.Aborted, message: `job ${id} cancelled by the requester` },
    }
    job.error = job.outcome.error
    this.db?.update(jobId, {
      step: 'ended',
      state: 'refunded',
      outcome: job.outcome,
      error: job.outcome.error,
    })
    this.end(job)
    return job
  }

  /** Waits for jobs in flight (used on shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }

  private end(job: TrackedJob): void {
    for (const listener of this.listeners.get(job.id) ?? []) listener({ type: 'end', state: job.state })
    this.listeners.delete(job.id)
    if (!this.db) return
    // Leaves memory once the database shows it ended (a run stopped by a shutdown is not, and
    // stays until the next start resumes it); the most recent ones stay a while.
    if (this.db.get(BigInt(job.id))?.step !== 'ended') return
    this.jobs.delete(job.id)
    this.ended.delete(job.id)
    this.ended.set(job.id, job)
    for (const id of this.ended.keys()) {
      if (this.ended.size <= this.maxEnded) break
      this.ended.delete(id)
    }
  }
}
