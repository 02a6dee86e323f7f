/**
 * A provider's risk on one requester (docs/vouchers.md): what it has promised to work for, or
 * delivered, that no voucher pays yet. Pure; the numbers come from the vault and the store.
 */
export interface ExposureJob {
  sequence: bigint
  /** maxFuel × pricePerFuel: the most the job can cost. */
  maxCost: bigint
  /** fuelUsed × pricePerFuel once delivered. */
  amount?: bigint
  /** Claimed on-chain: its amount already left the balance into a claim lock. */
  claimed?: boolean
}

export interface ExposureInput {
  /** The pair's escrow on-chain now. */
  balance: bigint
  /** What the vault has paid this provider for the pair (vouchers and claims). */
  collected: bigint
  /** The latest accepted voucher: its sequence and cumulative amount (0 and 0 without one). */
  voucheredThrough: bigint
  voucheredAmount: bigint
  jobs: readonly ExposureJob[]
}

export interface Exposure {
  /** Work above the latest voucher: delivered at its amount, in flight at its maximum. */
  unvouchered: bigint
  /** Signed but not redeemed yet: the latest voucher minus what the vault paid. */
  unredeemed: bigint
  /** Escrow left once both are paid (negative: the escrow cannot cover what is owed). */
  free: bigint
}

export function exposureOf(input: ExposureInput): Exposure {
  let unvouchered = 0n
  for (const job of input.jobs) {
    if (job.sequence <= input.voucheredThrough || job.claimed) continue
    unvouchered += job.amount ?? job.maxCost
  }
  const unredeemed = input.voucheredAmount > input.collected ? input.voucheredAmount - input.collected : 0n
  return { unvouchered, unredeemed, free: input.balance - unredeemed - unvouchered }
}

/**
 * Whether a new job of `cost` (maxFuel × price) may be accepted: the escrow covers it on top of
 * everything owed, and the unvouchered work stays within `cap`.
 */
export function canAccept(
  exposure: Exposure,
  cost: bigint,
  cap: bigint,
): { ok: true } | { ok: false; why: string } {
  if (exposure.free < cost) {
    return { ok: false, why: `escrow left ${exposure.free} does not cover the job's maximum ${cost}` }
  }
  if (exposure.unvouchered + cost > cap) {
    return {
      ok: false,
      why: `unvouchered exposure ${exposure.unvouchered} + ${cost} is above the cap ${cap}`,
    }
  }
  return { ok: true }
}
