import { isVoucherJobId } from '@bazaar/protocol'
import type { Address } from 'viem'
import type { VoucherJobClaim, VoucherJobPhase, VoucherJobRecord } from '../store/voucher-repo.ts'

/** How a job is paid: by a JobMarket escrow of its own, or by vouchers of the VoucherVault. */
export type PaymentKind = 'job-market' | 'voucher'

/** A job's payment kind from its id: voucher-job ids are at least 2^255 (docs/vouchers.md). */
export function paymentOf(jobId: string | bigint): PaymentKind {
  try {
    return isVoucherJobId(typeof jobId === 'bigint' ? jobId : BigInt(jobId)) ? 'voucher' : 'job-market'
  } catch {
    return 'job-market'
  }
}

/** What the requester's API says about a voucher job's payment (amounts in token base units). */
export interface VoucherJobView {
  vault: Address
  provider: Address
  /** The award's number in the (requester, provider) pair, from 1. */
  sequence: bigint
  /** awarded → verified → vouchered, or rejected (never vouchered). */
  phase: VoucherJobPhase
  /** maxFuel × pricePerFuel: the most the job could cost. */
  maxCost: bigint
  /** fuelUsed × pricePerFuel once the result verified: what this node owes for the job. */
  owed?: bigint
  /** The part of `owed` a signed voucher covers (all of it, or 0 until the voucher is signed). */
  vouchered: bigint
  /** The cumulative voucher that covered the job: through which sequence, for how much in all. */
  voucher?: { paidThroughSequence: bigint; cumulativeAmount: bigint; signedAt?: number }
  /** Unix seconds: the result was due by then; the provider may claim until `claimDeadline`. */
  resultDeadline: bigint
  claimDeadline: bigint
  claim?: VoucherJobClaim
  /**
   * What the provider's claim was paid from the escrow, once it was (the claim stood: unchallenged,
   * or upheld by referees), whether or not this node verified the result itself.
   */
  paidByClaim?: bigint
  reason?: string
}

/** The API view of a requester's stored voucher job. */
export function voucherJobView(record: VoucherJobRecord, vault: Address): VoucherJobView {
  const owed = record.phase === 'verified' || record.phase === 'vouchered' ? record.amount : undefined
  return {
    vault,
    provider: record.award.provider,
    sequence: record.award.sequence,
    phase: record.phase,
    maxCost: record.award.maxFuel * record.award.pricePerFuel,
    ...(owed !== undefined ? { owed } : {}),
    vouchered: record.phase === 'vouchered' ? (record.amount ?? 0n) : 0n,
    ...(record.voucheredBy
      ? {
          voucher: {
            ...record.voucheredBy,
            ...(record.voucheredAt !== undefined ? { signedAt: record.voucheredAt } : {}),
          },
        }
      : {}),
    resultDeadline: record.award.resultDeadline,
    claimDeadline: record.award.claimDeadline,
    ...(record.claim ? { claim: record.claim } : {}),
    ...(record.claim?.status === 'Paid' ? { paidByClaim: record.claim.amount } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
  }
}

/**
 * Where a voucher job's payment stands, as far as this node can tell (docs/vouchers.md):
 * `awarded` (nothing owed yet), `owed` (verified, no voucher signed yet), `vouchered` (a signed
 * voucher covers it; the provider has not redeemed it on-chain, or the node could not read the
 * vault), `claim-pending` (the provider claimed it on-chain; the amount is locked, not paid),
 * `redeemed` (a redeemed voucher paid it), `claimed` (a claim paid it), `rejected` (never owed).
 */
export type VoucherSettlement =
  | 'awarded'
  | 'owed'
  | 'vouchered'
  | 'claim-pending'
  | 'redeemed'
  | 'claimed'
  | 'rejected'

/** The vault's counters of one (requester, provider) pair, as `channelOf` returns them. */
export interface VoucherChannelState {
  /** Paid to the provider so far, by vouchers and claims. */
  collected: bigint
  /** Highest sequence a redeemed voucher covered. */
  paidThrough: bigint
}

/** A voucher job's view with where its payment stands on-chain. */
export interface SettledVoucherJobView extends VoucherJobView {
  settlement: VoucherSettlement
  /**
   * The part of the job's cost paid to the provider on-chain (by a redeemed voucher or a paid
   * claim). Absent when the vault could not be read and no claim was seen paid: unknown.
   */
  redeemed?: bigint
}

/**
 * Adds where the job's payment stands, from the vault's counters of its pair (`channel`; undefined
 * when they could not be read). A voucher pays every job up to its sequence in one cumulative
 * amount, so the job counts as redeemed only when a redeemed voucher reached its sequence
 * (`paidThrough`) AND the vault paid at least the cumulative amount of the voucher that covered
 * it: a voucher redeemed only in part (escrow short) leaves the job `vouchered`.
 */
export function settleVoucherJobView(
  view: VoucherJobView,
  channel: VoucherChannelState | undefined,
): SettledVoucherJobView {
  if (view.claim?.status === 'Paid') return { ...view, settlement: 'claimed', redeemed: view.claim.amount }
  const known = channel !== undefined
  if (
    channel &&
    view.phase === 'vouchered' &&
    view.voucher &&
    channel.paidThrough >= view.sequence &&
    channel.collected >= view.voucher.cumulativeAmount
  ) {
    return { ...view, settlement: 'redeemed', redeemed: view.owed ?? view.vouchered }
  }
  const unpaid = known ? { redeemed: 0n } : {}
  if (view.claim && view.claim.status === undefined)
    return { ...view, settlement: 'claim-pending', ...unpaid }
  const settlement: VoucherSettlement =
    view.phase === 'vouchered'
      ? 'vouchered'
      : view.phase === 'verified'
        ? 'owed'
        : view.phase === 'rejected'
          ? 'rejected'
          : 'awarded'
  return { ...view, settlement, ...unpaid }
}
