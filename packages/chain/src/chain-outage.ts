import {
  type Hash,
  type Hex,
  HttpRequestError,
  keccak256,
  type PublicClient,
  TimeoutError,
  BaseError as ViemBaseError,
} from 'viem'
import { ChainError } from './chain-error.ts'

/** Pauses between tries of a chain call the endpoint did not answer (~1 min in all). */
export const CHAIN_RETRY_PAUSES_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000]

/** The request to the chain's endpoint got no answer (refused, reset, timed out): not a revert. */
export function isChainUnreachable(err: unknown): boolean {
  const cause = err instanceof ChainError ? err.cause : err
  return (
    cause instanceof ViemBaseError &&
    cause.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null
  )
}

export interface OutageOptions {
  signal?: AbortSignal
  /** Pauses between tries (default CHAIN_RETRY_PAUSES_MS). */
  pausesMs?: readonly number[]
}

/**
 * Runs `call`, trying again while the chain's endpoint is unreachable, so a short RPC outage
 * does not end the work it serves (a node's connection check at start still fails fast).
 * Only for calls that change nothing when repeated: reads, and writes made idempotent by the
 * caller (the same signed transaction sent again, see `broadcastThroughOutage`).
 */
export async function throughOutage<T>(call: () => Promise<T>, options: OutageOptions = {}): Promise<T> {
  const pauses = options.pausesMs ?? CHAIN_RETRY_PAUSES_MS
  for (let attempt = 0; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      const pause = pauses[attempt]
      if (pause === undefined || !isChainUnreachable(err) || options.signal?.aborted) throw err
      await sleep(pause, options.signal)
    }
  }
}

/**
 * Sends a signed transaction, riding out an outage of the endpoint without ever sending a
 * second transaction: the same bytes (same nonce, same hash) are sent again, and a resend the
 * node refuses (already known, nonce used) counts as sent when the node knows the hash. A lost
 * answer to a write that was in fact mined thus costs a retry, never a duplicate job or award.
 */
export async function broadcastThroughOutage(
  publicClient: PublicClient,
  serializedTransaction: Hex,
  options: OutageOptions = {},
): Promise<Hash> {
  const hash = keccak256(serializedTransaction)
  const pauses = options.pausesMs ?? CHAIN_RETRY_PAUSES_MS
  for (let attempt = 0; ; attempt++) {
    try {
      await publicClient.sendRawTransaction({ serializedTransaction })
      return hash
    } catch (err) {
      if (attempt > 0 && !isChainUnreachable(err) && (await knowsTransaction(publicClient, hash))) return hash
      const pause = pauses[attempt]
      if (pause === undefined || !isChainUnreachable(err) || options.signal?.aborted) {
        if (isChainUnreachable(err)) {
          // Not itself "unreachable" (no viem cause): a caller must not start the write over,
          // as an earlier try may have reached the node.
          throw new ChainError(`transaction ${hash} could not be sent: the chain endpoint is unreachable`, {
            details: { hash, lastError: err instanceof Error ? err.message.slice(0, 200) : String(err) },
            hint: 'it may still be mined if an earlier try reached the node; check the hash before sending again',
          })
        }
        throw err
      }
      await sleep(pause, options.signal)
    }
  }
}

async function knowsTransaction(publicClient: PublicClient, hash: Hash): Promise<boolean> {
  try {
    await publicClient.getTransaction({ hash })
    return true
  } catch {
    return false
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
