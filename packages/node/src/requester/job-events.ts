import type { Address } from 'viem'

/** Every step of a job as the requester sees it; nothing happens silently. */
export type JobEvent =
  | { type: 'created'; jobId: bigint; escrow: bigint }
  | { type: 'announced'; jobId: bigint; attempt: number; bidDeadline: number }
  | { type: 'bid'; jobId: bigint; provider: Address; pricePerFuel: bigint }
  | { type: 'bid-rejected'; jobId: bigint; provider: Address; reason: string }
  | { type: 'declined'; jobId: bigint; provider: Address; reason: string; detail: string }
  | { type: 'no-bids'; jobId: bigint; attempt: number }
  | { type: 'awarded'; jobId: bigint; provider: Address; pricePerFuel: bigint; bids: number }
  | { type: 'revealed'; jobId: bigint; fuelUsed: bigint }
  | { type: 'verified'; jobId: bigint; outputBytes: number }
  | { type: 'finalized'; jobId: bigint; paid: bigint; refunded: bigint }
  | { type: 'refunded'; jobId: bigint; reason: string }

export type JobEventListener = (event: JobEvent & { at: number }) => void
