import { sleep } from './sleep.ts'

/**
 * Answers that a later try cannot change: the peer sent bytes that are not what was asked
 * (CID mismatch, malformed frames), more than allowed, or said it does not have the blob.
 */
const FINAL_ERRORS = new Set([
  'CidMismatchError',
  'ContentTooLargeError',
  'ContentNotFoundError',
  'InvalidMessageError',
  'OperationAbortedError',
])

/** How long a provider keeps trying to fetch a job's module and inputs from its requester. */
export const INPUT_FETCH_RETRY_MS = 30_000

/** Pauses between tries; the last one repeats until the deadline. */
export const RESULT_FETCH_PAUSES_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 15_000]

export interface RetryUntilOptions {
  /** Unix ms after which no new try starts (at least one try is always made). */
  untilMs: number
  signal?: AbortSignal
  pausesMs?: readonly number[]
  /** Told before each pause, e.g. to log that the provider is being waited for. */
  onRetry?: (err: unknown, attempt: number) => void
}

/**
 * Runs `op` (a fetch of a revealed result from its provider) until it succeeds, fails in a way
 * no retry can change, or `untilMs` passes. A provider that restarts, or a link that drops,
 * mid-transfer costs the requester a wait, not its result: the provider keeps what it revealed
 * in its store and serves it again once it is back (docs/reliability.md).
 */
export async function retryUntil<T>(op: () => Promise<T>, options: RetryUntilOptions): Promise<T> {
  const pauses = options.pausesMs ?? RESULT_FETCH_PAUSES_MS
  for (let attempt = 0; ; attempt++) {
    try {
      return await op()
    } catch (err) {
      const pause = pauses[Math.min(attempt, pauses.length - 1)] ?? 0
      const final = err instanceof Error && FINAL_ERRORS.has(err.name)
      if (options.signal?.aborted) throw options.signal.reason
      if (final || Date.now() + pause > options.untilMs) throw err
      options.onRetry?.(err, attempt + 1)
      await sleep(pause, options.signal)
    }
  }
}
