/**
 * An AbortSignal that fires when the caller's signal does or after `timeoutMs`, whichever
 * comes first. The timeout's reason is a DOMException named 'TimeoutError', which
 * `toAbortError` turns into PeerTimeoutError. The timer does not keep the process alive.
 */
export function deadline(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}
