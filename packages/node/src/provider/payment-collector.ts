import type { Logger } from 'pino'
import type { MarketChain } from '../market-chain.ts'

/** What became of a revealed job the collector looked at. */
export type CollectedJob =
  | { jobId: bigint; outcome: 'finalized-by-us'; paid: bigint; gasUsed: bigint }
  | { jobId: bigint; outcome: 'finalized' }
  /** No longer payable by a finalize (expired, cancelled, or settled by the court): nothing to do. */
  | { jobId: bigint; outcome: 'closed'; status: string }

export interface PaymentCollectorInit {
  chain: Pick<MarketChain, 'getJob' | 'finalize' | 'nowSeconds' | 'challengeWindow' | 'address'>
  /** This provider's revealed jobs not yet seen finalized, oldest first. */
  revealed: () => bigint[]
  /** Told once per job whose payment is settled either way, so it is not looked at again. */
  onCollected: (job: CollectedJob) => void
  logger: Logger
  /**
   * Seconds past the end of the challenge window left to the requester, whose finalize it is
   * (and whose gas) before the provider sends its own (default 60).
   */
  graceSeconds?: bigint
  /** Jobs looked at per sweep, so a node with a long backlog does not flood its RPC (default 50). */
  maxPerSweep?: number
}

/**
 * A requester that vanishes still pays (docs/reliability.md): once a revealed job's challenge
 * window and a grace period are over and nobody has finalized it, the provider finalizes it
 * itself (the market lets anyone do so then) and is paid from the escrow. Jobs held for
 * verification are left to the court. One sweep; `startPaymentCollector` runs it on a timer.
 */
export async function collectPayments(init: PaymentCollectorInit): Promise<CollectedJob[]> {
  const grace = init.graceSeconds ?? 60n
  const jobs = init.revealed().slice(0, init.maxPerSweep ?? 50)
  if (jobs.length === 0) return []
  const window = await init.chain.challengeWindow()
  // Block time, or this clock when later: a quiet chain's latest block can be old, and the
  // finalize's own block carries the time the contract checks.
  const blockTime = await init.chain.nowSeconds()
  const wall = BigInt(Math.floor(Date.now() / 1000))
  const now = blockTime > wall ? blockTime : wall
  const collected: CollectedJob[] = []
  for (const jobId of jobs) {
    const onChain = await init.chain.getJob(jobId)
    let job: CollectedJob | undefined
    if (onChain.status === 'Finalized') job = { jobId, outcome: 'finalized' }
    else if (onChain.status !== 'Revealed') job = { jobId, outcome: 'closed', status: onChain.status }
    else if (onChain.provider.toLowerCase() !== init.chain.address.toLowerCase()) {
      job = { jobId, outcome: 'closed', status: 'not ours' }
    } else if (now > onChain.revealedAt + window + grace) {
      try {
        const settled = await init.chain.finalize(jobId)
        job = { jobId, outcome: 'finalized-by-us', paid: settled.paid, gasUsed: settled.gasUsed }
        init.logger.info(
          { jobId: jobId.toString(), paid: settled.paid.toString() },
          'finalized a job its requester left unsettled',
        )
      } catch (err) {
        // Held for verification, or finalized by someone else meanwhile: the next sweep reads
        // the chain again. Anything else is logged and retried too: nothing is lost by waiting.
        init.logger.debug({ jobId: jobId.toString(), err: String(err) }, 'finalize by provider not done')
      }
    }
    if (job) {
      init.onCollected(job)
      collected.push(job)
    }
  }
  return collected
}

/** Runs `collectPayments` every `intervalMs`; failed sweeps (an RPC outage) are retried on the next tick. */
export function startPaymentCollector(init: PaymentCollectorInit & { intervalMs: number }): { stop(): void } {
  let sweeping = false
  const timer = setInterval(() => {
    if (sweeping) return // a slow sweep (an RPC outage) is not stacked with the next
    sweeping = true
    collectPayments(init)
      .catch((err: unknown) => init.logger.warn({ err: String(err) }, 'payment collection sweep failed'))
      .finally(() => {
        sweeping = false
      })
  }, init.intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
