import { type BazaarContracts, resultCommitment, throughOutage } from '@bazaar/chain'
import { jobMarketAbi } from '@bazaar/contracts'
import { bidTypes } from '@bazaar/protocol'
import { parseEventLogs, verifyTypedData } from 'viem'
import type { MarketChain, TxOutcome } from './market-chain.ts'

/**
 * MarketChain over the deployed contracts for one signer. Adds what the roles need beyond
 * the raw facade: job creation funded by an EIP-2612 permit (one transaction, no separate
 * approval), the roles' two deadlines mapped onto the market's phases, settlement amounts read
 * from events, and a gas tally.
 */
export function createMarketChain(contracts: BazaarContracts): MarketChain {
  const { publicClient } = contracts.clients
  const market = contracts.deployment.market
  let gasSpent = 0n
  let challengeWindow: Promise<bigint> | undefined
  const tally = <T extends TxOutcome>(result: T): T => {
    gasSpent += result.gasUsed
    return result
  }

  return {
    address: contracts.address,
    chainId: contracts.clients.chainId,
    market,
    get gasSpent() {
      return gasSpent
    },
    // Reads ride out a short outage of the RPC endpoint instead of failing the job they serve.
    async nowSeconds() {
      const block = await throughOutage(() => publicClient.getBlock({ blockTag: 'latest' }))
      return block.timestamp
    },
    getJob: (jobId) => throughOutage(() => contracts.getJob(jobId)),
    isEligible: (provider) => throughOutage(() => contracts.isEligible(provider)),
    challengeWindow() {
      challengeWindow ??= throughOutage(() =>
        publicClient.readContract({ address: market, abi: jobMarketAbi, functionName: 'challengeWindow' }),
      ).then(BigInt, (err: unknown) => {
        challengeWindow = undefined
        throw err
      })
      return challengeWindow
    },
    blockNumber: () => throughOutage(() => publicClient.getBlockNumber({ cacheTime: 0 })),
    awardsSince: (fromBlock) => contracts.awardsSince(fromBlock),
    async createJob({ biddingSeconds, executionSeconds, ...terms }) {
      // The roles award before their bidding budget ends, so that is the award deadline; the
      // provider then gets the execution time to commit, and as long again to reveal.
      let bidDeadline = 0n
      const created = tally(
        await contracts.createJobWithPermit((blockTime) => {
          bidDeadline = blockTime + biddingSeconds
          return {
            ...terms,
            bidDeadline,
            awardDeadline: bidDeadline,
            commitWindow: executionSeconds > 0n ? executionSeconds : 1n,
            revealWindow: executionSeconds > 0n ? executionSeconds : 1n,
          }
        }),
      )
      return { hash: created.hash, gasUsed: created.gasUsed, jobId: created.jobId, bidDeadline }
    },
    cancelJob: async (jobId) => tally(await contracts.cancelJob(jobId)),
    award: async (bid) => tally(await contracts.award(bid)),
    commitResult: async (jobId, commitment) => tally(await contracts.commitResult(jobId, commitment)),
    revealOpen: (jobId) => throughOutage(() => contracts.revealOpen(jobId)),
    revealResult: async (args) => tally(await contracts.revealResult(args)),
    async finalize(jobId) {
      const result = tally(await contracts.finalize(jobId))
      const [event] = parseEventLogs({
        abi: jobMarketAbi,
        eventName: 'JobFinalized',
        logs: result.receipt.logs,
      })
      return { ...result, paid: event?.args.paid ?? 0n, refunded: event?.args.refunded ?? 0n }
    },
    reclaimExpired: async (jobId) => tally(await contracts.reclaimExpired(jobId)),
    async signBid(bid) {
      return (await contracts.signBid(bid)).signature
    },
    verifyBid({ signature, ...message }) {
      return verifyTypedData({
        address: message.provider,
        domain: contracts.domain,
        types: bidTypes,
        primaryType: 'Bid',
        message,
        signature,
      })
    },
    resultCommitment,
  }
}
