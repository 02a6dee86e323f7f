/**
 * Stable error codes. They cross the wire (bid rejections, data-transfer failures,
 * job failures), so once published a code never changes meaning.
 */
export const ErrorCode = {
  InvalidSpec: 'E_INVALID_SPEC',
  InvalidMessage: 'E_INVALID_MESSAGE',
  CidMismatch: 'E_CID_MISMATCH',
  NotFound: 'E_NOT_FOUND',
  InvalidSignature: 'E_INVALID_SIGNATURE',
  OutOfFuel: 'E_OUT_OF_FUEL',
  MemoryLimit: 'E_MEMORY_LIMIT',
  Timeout: 'E_TIMEOUT',
  OutputTooLarge: 'E_OUTPUT_TOO_LARGE',
  Trap: 'E_TRAP',
  InvalidModule: 'E_INVALID_MODULE',
  NoBids: 'E_NO_BIDS',
  /** Verification (an audit or a dispute) found the result wrong. */
  VerificationFailed: 'E_VERIFICATION_FAILED',
  /** Verification ended without a verdict (no referee majority). */
  Undetermined: 'E_UNDETERMINED',
  ChainError: 'E_CHAIN',
  Aborted: 'E_ABORTED',
  Internal: 'E_INTERNAL',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export interface BaseErrorOptions {
  /** What the user can do about it. */
  hint?: string
  /** Structured facts for logs and `--json` output. */
  details?: Record<string, unknown>
  cause?: unknown
}

/**
 * The root of every Bazaar error: a short message, a stable `code`, an optional `hint`
 * and structured `details`. Callers branch on `err.name` or `err.code`, never on the text.
 */
export class BaseError extends Error {
  override name = 'BaseError'
  readonly code: ErrorCode
  readonly hint: string | undefined
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: BaseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.hint = options.hint
    this.details = options.details ?? {}
  }

  /** A plain object safe to serialize over the wire or print as JSON. */
  toJSON(): {
    name: string
    code: ErrorCode
    message: string
    hint?: string
    details: Record<string, unknown>
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      details: this.details,
    }
  }
}

export class InvalidMessageError extends BaseError {
  override name = 'InvalidMessageError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.InvalidMessage, message, options)
  }
}

export class CidMismatchError extends BaseError {
  override name = 'CidMismatchError' as const
  constructor(expected: string, actual: string) {
    super(ErrorCode.CidMismatch, `content does not match its CID: expected ${expected}, got ${actual}`, {
      hint: 'the peer sent different bytes than were asked for; fetch from another peer',
      details: { expected, actual },
    })
  }
}

/** Anything that can be thrown, as a short human string. */
export function describeError(err: unknown): string {
  if (err instanceof BaseError) return err.hint ? `${err.message} (hint: ${err.hint})` : err.message
  if (err instanceof Error) return err.message
  return String(err)
}
