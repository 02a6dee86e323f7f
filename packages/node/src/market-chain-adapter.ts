import { type BazaarContracts, resultCommitment } from '@bazaar/chain'
import { jobMarketAbi } from '@bazaar/contracts'
import { bidTypes } from '@bazaar/protocol'
import { parseEventLogs, verifyTypedData } from 'viem'
import type { MarketChain, TxOutcome } from './market-chain.ts'

/**
 * MarketChain over the deployed contracts for one signer. Adds what the roles need beyond
 * the raw facade: escrow approval bundled with job creation (one at a time, because an
 * ERC-20 allowance is set, not added), settlement amounts read from events, and a gas tally.
 */
export function createMarketChain(contracts: BazaarContracts): MarketChain {
  const { publicClient } = contracts.clients
  const market = contracts.deployment.market
  let gasSpent = 0n
  let createQueue: Promise<unknown> = Promise.resolve()
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
    async nowSeconds() {
      const block = await publicClient.getBlock({ blockTag: 'latest' })
      return block.timestamp
    },
    getJob: (jobId) => contracts.getJob(jobId),
    isEligible: (provider) => contracts.isEligible(provider),
    createJob(args) {
      const run = async () => {
        const approval = tally(await contracts.approve(market, args.maxPricePerFuel * args.maxFuel))
        const created = tally(await contracts.createJob(args))
        return { hash: created.hash, gasUsed: approval.gasUsed + created.gasUsed, jobId: created.jobId }
      }
      const result = createQueue.then(run, run)
      createQueue = result.catch(() => undefined)
      return result
    },
    cancelJob: async (jobId) => tally(await contracts.cancelJob(jobId)),
    award: async (bid) => tally(await contracts.award(bid)),
    commitResult: async (jobId, commitment) => tally(await contracts.commitResult(jobId, commitment)),
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
