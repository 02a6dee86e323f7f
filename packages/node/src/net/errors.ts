import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'

/**
 * Errors of the networking layer. They extend the protocol's BaseError so callers branch on
 * `err.name` / `err.code` like everywhere else.
 */

/** A peer did not answer (or a dial did not complete) within the allowed time. */
export class PeerTimeoutError extends BaseError {
  override name = 'PeerTimeoutError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.Timeout, message, {
      hint: 'the peer may be offline or overloaded; retry or ask another peer',
      ...options,
    })
  }
}

/** The caller's AbortSignal fired. */
export class OperationAbortedError extends BaseError {
  override name = 'OperationAbortedError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.Aborted, message, options)
  }
}

/** The stream was reset by the peer (or closed under us with an error) before we were done. */
export class PeerResetError extends BaseError {
  override name = 'PeerResetError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.Aborted, message, options)
  }
}

/**
 * No address is known for a peer we are not connected to, and the peer routing (DHT) did not
 * find one. Retryable: the address arrives once the peer connects to us or a lookup succeeds.
 */
export class PeerAddressUnknownError extends BaseError {
  override name = 'PeerAddressUnknownError' as const
  constructor(peer: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.NotFound, `no address known for peer ${peer}`, {
      hint: 'the peer may be offline or not yet discovered; pass its multiaddr with --bootstrap, or retry once it is back',
      ...options,
      details: { peer, ...options.details },
    })
  }
}

/** The remote peer answered with an error response; `code` is the code it sent. */
export class RemoteError extends BaseError {
  override name = 'RemoteError' as const
  constructor(code: ErrorCode, message: string, options: BaseErrorOptions = {}) {
    super(code, message, options)
  }
}

/** The peer does not have the content named by a CID. */
export class ContentNotFoundError extends BaseError {
  override name = 'ContentNotFoundError' as const
  constructor(cid: string, peer: string, remoteMessage?: string) {
    super(ErrorCode.NotFound, `peer ${peer} does not have ${cid}`, {
      hint: 'ask another peer that announced this content',
      details: { cid, peer, ...(remoteMessage === undefined ? {} : { remoteMessage }) },
    })
  }
}

/** The peer announced more bytes than we accept for this fetch. */
export class ContentTooLargeError extends BaseError {
  override name = 'ContentTooLargeError' as const
  constructor(cid: string, size: number, maxBytes: number) {
    super(ErrorCode.InvalidMessage, `content ${cid} is ${size} bytes, more than the ${maxBytes} accepted`, {
      hint: 'raise maxBytes if this size is expected',
      details: { cid, size, maxBytes },
    })
  }
}

const ERROR_CODES = new Set<string>(Object.values(ErrorCode))

/** Narrows an untrusted string to a known ErrorCode (unknown codes become E_INTERNAL). */
export function toErrorCode(code: string): ErrorCode {
  return ERROR_CODES.has(code) ? (code as ErrorCode) : ErrorCode.Internal
}

/**
 * Maps whatever an aborted operation threw to a typed error: a fired deadline becomes
 * PeerTimeoutError, a caller abort becomes OperationAbortedError, BaseErrors pass through.
 */
export function toAbortError(reason: unknown, what: string): BaseError {
  if (reason instanceof BaseError) return reason
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new PeerTimeoutError(`${what}: timed out`, { cause: reason })
  }
  return new OperationAbortedError(`${what}: aborted`, { cause: reason })
}

/** A networking option is out of range: a configuration bug, caught at startup. */
export class NetConfigError extends BaseError {
  override name = 'NetConfigError' as const
  constructor(option: string, problem: string) {
    super(ErrorCode.Internal, `${option} ${problem}`, {
      hint: `fix the node's network configuration (${option})`,
      details: { option },
    })
  }
}
