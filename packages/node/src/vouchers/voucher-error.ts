import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'

/**
 * Why a voucher message was refused. Stable: it crosses the wire as the reply's `code`, so a
 * peer (and a test) branches on it, never on the text.
 */
export const VoucherRefusal = {
  /** The message is for another vault, provider or requester. */
  WrongParty: 'wrong-party',
  /** No open bid of ours for this voucher job (never bid, lost, or already awarded). */
  NoOpenBid: 'no-open-bid',
  /** The award's terms differ from the job and bid it names (price, spec, fuel, deadline). */
  TermsMismatch: 'terms-mismatch',
  /** The signature is malformed or not by the requester or one of its current signing keys. */
  BadSignature: 'bad-signature',
  /** The key was revoked (pending or effective). */
  SignerRevoked: 'signer-revoked',
  /** The award's sequence is not the pair's next one. */
  WrongSequence: 'wrong-sequence',
  /** The requester announced a withdrawal of this provider's escrow. */
  Thawing: 'thawing',
  /** The escrow left, or the exposure cap, does not cover the job. */
  Exposure: 'exposure',
  /** The voucher does not pay exactly what was delivered through its sequence (or its jobsRoot differs). */
  VoucherMismatch: 'voucher-mismatch',
  /** The voucher covers nothing beyond the latest accepted one (a replay or an old voucher). */
  VoucherStale: 'voucher-stale',
  /** A job it covers was not delivered yet. */
  NotDelivered: 'not-delivered',
  /** A result notice for a job this requester does not know. */
  UnknownJob: 'unknown-job',
} as const
export type VoucherRefusal = (typeof VoucherRefusal)[keyof typeof VoucherRefusal]

/** A voucher-path message refused by its receiver, with the stable `refusal`. */
export class VoucherRefusedError extends BaseError {
  override name = 'VoucherRefusedError' as const
  readonly refusal: VoucherRefusal

  constructor(refusal: VoucherRefusal, message: string, options: BaseErrorOptions = {}) {
    super(
      refusal === VoucherRefusal.BadSignature || refusal === VoucherRefusal.SignerRevoked
        ? ErrorCode.InvalidSignature
        : ErrorCode.InvalidMessage,
      message,
      {
        hint: options.hint ?? 'see docs/vouchers.md for what a provider accepts',
        ...options,
        details: { ...options.details, refusal },
      },
    )
    this.refusal = refusal
  }
}

/** A claim cannot be disputed: this node has no court to dispute it in. */
export class NoCourtError extends BaseError {
  override name = 'NoCourtError' as const

  constructor() {
    super(ErrorCode.ChainError, 'no court is configured: voucher claims cannot be disputed', {
      hint: 'start the node with the VerificationCourt address (court) to dispute voucher claims',
    })
  }
}
