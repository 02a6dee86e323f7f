import type { Address } from 'viem'
import type { TrackedJob } from '../requester/job-tracker.ts'
import { paymentOf, type VoucherChannelState, type VoucherJobView } from '../vouchers/voucher-job-view.ts'

export interface ProviderStats {
  address: Address
  bids: number
  wins: number
  /**
   * Paid to this provider on-chain for this node's jobs, in token base units: per-job JobMarket
   * settlements, plus what the vault paid it from this node's voucher escrow (redeemed vouchers
   * and paid claims: the vault's `collected`).
   */
  earned: bigint
  /**
   * Signed vouchers of this node the provider has not redeemed yet: owed, not paid. Absent when
   * the provider has no voucher job here, or the vault could not be read (then `earned` counts
   * only per-job settlements and claims this node saw paid).
   */
  voucheredUnredeemed?: bigint
}

/** What this node's voucher jobs say of one provider's pair in the vault. */
export interface VoucherPair {
  vault: Address
  provider: Address
  /** The largest cumulative voucher this node signed to the provider: everything vouchered. */
  vouchered: bigint
  /** Claims this node saw paid (what is known paid when the vault cannot be read). */
  claimsPaid: bigint
}

/** The (vault, provider) pairs of this node's voucher jobs, from their stored voucher details. */
export function voucherPairs(
  jobs: TrackedJob[],
  describe: ((id: string) => VoucherJobView | undefined) | undefined,
): Map<string, VoucherPair> {
  const pairs = new Map<string, VoucherPair>()
  if (!describe) return pairs
  for (const job of jobs) {
    if (paymentOf(job.id) !== 'voucher') continue
    const view = describe(job.id)
    if (!view) continue
    const key = view.provider.toLowerCase()
    const pair = pairs.get(key) ?? {
      vault: view.vault,
      provider: view.provider,
      vouchered: 0n,
      claimsPaid: 0n,
    }
    const cumulative = view.voucher?.cumulativeAmount ?? 0n
    if (cumulative > pair.vouchered) pair.vouchered = cumulative
    if (view.claim?.status === 'Paid') pair.claimsPaid += view.claim.amount
    pairs.set(key, pair)
  }
  return pairs
}

/**
 * What this requester has seen of each provider, from its jobs' events, and what it paid them.
 * Voucher jobs add nothing to `earned` by themselves: a voucher is a promise until the provider
 * redeems it, so their pairs' on-chain `collected` (from `channels`, keyed by lower-case provider)
 * is what they earned, and the rest of the vouchered amount is `voucheredUnredeemed`.
 */
export function providerStats(
  jobs: TrackedJob[],
  vouchers: { pairs: Map<string, VoucherPair>; channels: Map<string, VoucherChannelState | undefined> } = {
    pairs: new Map(),
    channels: new Map(),
  },
): ProviderStats[] {
  const stats = new Map<string, ProviderStats>()
  const of = (address: Address) => {
    const key = address.toLowerCase()
    let entry = stats.get(key)
    if (!entry) {
      entry = { address, bids: 0, wins: 0, earned: 0n }
      stats.set(key, entry)
    }
    return entry
  }
  for (const job of jobs) {
    for (const event of job.events) {
      if (event.type === 'bid') of(event.provider).bids++
      if (event.type === 'awarded') of(event.provider).wins++
    }
    // A voucher job's `paid` is what is owed for it, not a payment: counted from the vault below.
    if (job.outcome?.provider && paymentOf(job.id) === 'job-market')
      of(job.outcome.provider).earned += job.outcome.paid
  }
  for (const [key, pair] of vouchers.pairs) {
    const entry = of(pair.provider)
    const channel = vouchers.channels.get(key)
    if (channel === undefined) {
      entry.earned += pair.claimsPaid
      continue
    }
    entry.earned += channel.collected
    // Claims count in `collected` too, and a voucher after a paid claim pays only the difference.
    entry.voucheredUnredeemed = pair.vouchered > channel.collected ? pair.vouchered - channel.collected : 0n
  }
  return [...stats.values()].sort((a, b) => b.wins - a.wins || (a.address < b.address ? -1 : 1))
}
