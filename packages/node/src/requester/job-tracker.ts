import { type BaseError, describeError } from '@bazaar/protocol'
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

type Listener = (event: (JobEvent & { at: number }) | { type: 'end'; state: TrackedJobState }) => void

/**
 * Runs jobs in the background and remembers them, so the API can answer for jobs in
 * flight and watchers can follow their events. In memory for now (persistence is the
 * Reliability issue).
 */
export class JobTracker {
  private readonly jobs = new Map<string, TrackedJob>()
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly requester: RequesterService

  constructor(requester: RequesterService) {
    this.requester = requester
  }

  /** Starts the job; resolves once it has an on-chain id (escrow locked), or rejects if it never got one. */
  submit(prepared: PreparedJob): Promise<TrackedJob> {
    return new Promise((resolve, reject) => {
      let job: TrackedJob | undefined
      const run = this.requester
        .run(prepared, {
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
            if (!job) return
            job.outcome = outcome
            job.state = outcome.status
            job.error = outcome.error
            this.end(job)
          },
          (err: unknown) => {
            if (!job) return reject(err)
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
        .finally(() => this.inFlight.delete(run))
      this.inFlight.add(run)
    })
  }

  get(id: string): TrackedJob | undefined {
    return this.jobs.get(id)
  }

  list(): TrackedJob[] {
    return [...this.jobs.values()].sort((a, b) => b.submittedAt - a.submittedAt)
  }

  /** Follows a job: replays its past events, then live ones, then an `end` marker. Returns an unsubscribe. */
  follow(id: string, listener: Listener): () => void {
    const job = this.jobs.get(id)
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

  /** Waits for jobs in flight (used on shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }

  private end(job: TrackedJob): void {
    for (const listener of this.listeners.get(job.id) ?? []) listener({ type: 'end', state: job.state })
    this.listeners.delete(job.id)
  }
}
