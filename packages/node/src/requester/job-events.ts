import type { Address, Hex } from 'viem'
import type { ReplicatedVerdict } from '../verification/replicated-settlement.ts'

/** Every step of a job as the requester sees it; nothing happens silently. */
export type JobEvent =
  | { type: 'created'; jobId: bigint; escrow: bigint }
  | { type: 'announced'; jobId: bigint; attempt: number; bidDeadline: number }
  | { type: 'bid'; jobId: bigint; provider: Address; pricePerFuel: bigint }
  | { type: 'bid-rejected'; jobId: bigint; provider: Address; reason: string }
  | { type: 'declined'; jobId: bigint; provider: Address; reason: string; detail: string }
  | { type: 'no-bids'; jobId: bigint; attempt: number }
  | {
      type: 'awarded'
      jobId: bigint
      provider: Address
      pricePerFuel: bigint
      bids: number
      /** Where the winner is reached (a replica's, so a restarted requester can fetch from it). */
      providerPeerId?: string
      /** A voucher job (docs/vouchers.md): the award's sequence number in its (requester, provider) pair. */
      sequence?: bigint
    }
  | { type: 'committed'; jobId: bigint }
  | { type: 'revealed'; jobId: bigint; fuelUsed: bigint }
  | { type: 'verified'; jobId: bigint; outputBytes: number }
  | { type: 'finalized'; jobId: bigint; paid: bigint; refunded: bigint }
  | { type: 'refunded'; jobId: bigint; reason: string }
  // Verification (docs/verification.md): the steps of an audited job.
  | { type: 'audit-opened'; jobId: bigint; caseId: bigint; probability: number }
  | { type: 'audit-drawn'; jobId: bigint; selected: boolean; auditor?: Address }
  | { type: 'referees-drawn'; jobId: bigint; disputeId: bigint; referees: readonly Address[] }
  | { type: 'dispute-resolved'; jobId: bigint; disputeId: bigint }
  | { type: 'challenged'; jobId: bigint; caseId: bigint; challenger: Address }
  | { type: 'challenge-verdict'; jobId: bigint; verdict: 'provider-wrong' | 'upheld' | 'undetermined' }
  // A replicated job: its k replicas linked into one court case, and the case's verdict.
  | { type: 'replicas-linked'; jobId: bigint; caseId: bigint; jobIds: readonly bigint[] }
  | { type: 'replicas-settled'; jobId: bigint; caseId: bigint; verdict: ReplicatedVerdict; disputed: boolean }
  | {
      type: 'audited'
      jobId: bigint
      verdict: 'not-selected' | 'verified' | 'unaudited' | 'provider-wrong' | 'undetermined'
    }
  | VoucherJobEvent

/**
 * The voucher path's steps after the result (docs/vouchers.md), on the job's timeline even when
 * they come after its run ended: the cumulative voucher that covered the job, a claim the
 * provider filed for it (and whether this node disputed it), and that claim's end.
 */
export type VoucherJobEvent =
  | {
      type: 'voucher-signed'
      jobId: bigint
      sequence: bigint
      /** What this job adds to the voucher (fuelUsed × pricePerFuel). */
      amount: bigint
      paidThroughSequence: bigint
      cumulativeAmount: bigint
    }
  | { type: 'claim-filed'; jobId: bigint; claimId: Hex; amount: bigint; disputed: boolean }
  | { type: 'claim-finalized'; jobId: bigint; claimId: Hex; status: 'Paid' | 'Rejected'; amount: bigint }

export type JobEventListener = (event: JobEvent & { at: number }) => void
