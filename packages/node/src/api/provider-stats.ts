import type { Address } from 'viem'
import type { TrackedJob } from '../requester/job-tracker.ts'

export interface ProviderStats {
  address: Address
  bids: number
  wins: number
  /** Paid to this provider by this node's jobs, in token base units. */
  earned: bigint
}

/** What this requester has seen of each provider, from its jobs' events. */
export function providerStats(jobs: TrackedJob[]): ProviderStats[] {
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
    if (job.outcome?.provider) of(job.outcome.provider).earned += job.outcome.paid
  }
  return [...stats.values()].sort((a, b) => b.wins - a.wins || (a.address < b.address ? -1 : 1))
}
