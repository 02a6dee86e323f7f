import { zeroHash } from 'viem'
import type { VoucherJobLeaf } from './jobs-root.ts'

/**
 * The CLOSED rule of the voucher path (docs/vouchers.md, "Closed jobs"), applied identically by
 * the requester (to pass over a job in its voucher run) and the provider (to accept a voucher
 * that covers it). A job is closed when nothing can change what it is owed any more:
 * - its claim ended on-chain: `Paid` counts the claim's amount (the vault's `collected` already
 *   holds it, so a later cumulative voucher must include it or it would pay that much less), with
 *   the claim's result in the jobsRoot entry; `Rejected` counts 0;
 * - or its award's `claimDeadline` passed (chain time) with no claim filed: nobody can claim it
 *   any more, it counts 0.
 * A closed job that is not paid has an all-zero jobsRoot entry except its sequence, so a side
 * that never saw the award (a provider the award never reached) computes the same entry.
 * A delivered job before its claim deadline with no ended claim is never closed: its provider
 * can still claim it, so no voucher may count it at less than its amount.
 */
export interface ClosureClaim {
  status: 'None' | 'Pending' | 'Disputed' | 'Paid' | 'Rejected'
  amount: bigint
  resultHash: `0x${string}`
  fuelUsed: bigint
}

export interface ClosureInput {
  sequence: bigint
  /** The award's terms, when this side holds the award. */
  award?: { specHash: `0x${string}`; pricePerFuel: bigint; claimDeadline: bigint }
  /** The job's claim as last read from the vault; undefined: none filed (as far as `now` goes). */
  claim?: ClosureClaim
  /**
   * Chain time up to which this side knows every claim filed: the vault's block time for the
   * provider (its own claims), the time its claim scan covered for the requester. Undefined: no
   * deadline-based closure (only ended claims close a job).
   */
  now?: bigint
}

export type Closure =
  | { closed: false }
  | {
      closed: true
      why: 'claim-paid' | 'claim-rejected' | 'claim-deadline'
      /** What the job adds to the cumulative voucher. */
      amount: bigint
      leaf: VoucherJobLeaf
    }

/** The jobsRoot entry of a closed job that is paid nothing (or that a side never received). */
export function zeroLeaf(sequence: bigint): VoucherJobLeaf {
  return { sequence, specHash: zeroHash, resultHash: zeroHash, fuelUsed: 0n, pricePerFuel: 0n }
}

export function jobClosure(input: ClosureInput): Closure {
  const { sequence, award, claim } = input
  if (claim?.status === 'Paid' && award) {
    return {
      closed: true,
      why: 'claim-paid',
      amount: claim.amount,
      leaf: {
        sequence,
        specHash: award.specHash,
        resultHash: claim.resultHash,
        fuelUsed: claim.fuelUsed,
        pricePerFuel: award.pricePerFuel,
      },
    }
  }
  if (claim?.status === 'Rejected') {
    return { closed: true, why: 'claim-rejected', amount: 0n, leaf: zeroLeaf(sequence) }
  }
  const noClaim = claim === undefined || claim.status === 'None'
  if (noClaim && award && input.now !== undefined && input.now > award.claimDeadline) {
    return { closed: true, why: 'claim-deadline', amount: 0n, leaf: zeroLeaf(sequence) }
  }
  return { closed: false }
}
