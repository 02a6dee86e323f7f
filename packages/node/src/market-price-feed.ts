import {
  PriceIndex,
  type PriceIndexSnapshot,
  type ResourceClass,
  resourceClass,
  unclassifiedResourceClass,
} from '@bazaar/market'
import { describeError, hashJobDescriptor, type JobAnnouncement } from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { MarketChain } from './market-chain.ts'
import { requirementsOf } from './requester/requester-service.ts'

export interface MarketPriceFeedInit {
  /** Window of the price index; default 24 h. */
  windowSeconds?: bigint
  /** How often the chain is asked for new awards; default 1000 ms. */
  pollIntervalMs?: number
  /** First block to scan; default the latest block minus `lookbackBlocks`. */
  fromBlock?: bigint
  /** How far back the first scan reaches when `fromBlock` is not given; default 50,000 blocks. */
  lookbackBlocks?: bigint
  /** Blocks scanned again on every poll, so an award moved by a shallow reorg is still seen; default 2. */
  rescanBlocks?: bigint
  /** Announcements remembered to classify awards (oldest forgotten first); default 10,000. */
  maxKnownJobs?: number
}

export interface MarketPriceFeedComponents {
  chain: Pick<MarketChain, 'chainId' | 'market' | 'awardsSince' | 'blockNumber' | 'getJob'>
  logger: Logger
}

export interface MarketPriceFeedStats {
  polls: number
  pollErrors: number
  /** Awards recorded from the chain (replays not counted). */
  awards: number
  /** Of those, classed from the job's announcement / only from on-chain terms. */
  classified: number
  unclassified: number
  /** Last block scanned. */
  lastBlock: bigint
}

/**
 * Feeds a PriceIndex from the chain's JobAwarded events, so every node (provider or requester)
 * sees the clearing prices of the whole market, not only its own awards.
 *
 * An award's resource class comes from the job's announcement when this node heard it on
 * gossip and the announced descriptor hashes to the job's on-chain spec hash (so a peer cannot
 * poison a class with a made-up descriptor); otherwise from the on-chain fuel limit alone
 * (`unclassified/f…`), so the award still shows in the market's prices without being mixed
 * into a class it may not belong to. An award is timed by its block, but never later than this
 * node's clock when it sees it: nodes ask the index with their own clock, and a devnet moved
 * forward with `evm_increaseTime` must not hide its awards from them.
 */
export class MarketPriceFeed {
  readonly index: PriceIndex
  readonly stats: MarketPriceFeedStats = {
    polls: 0,
    pollErrors: 0,
    awards: 0,
    classified: 0,
    unclassified: 0,
    lastBlock: -1n,
  }
  private readonly init: Required<Omit<MarketPriceFeedInit, 'fromBlock' | 'windowSeconds'>> &
    Pick<MarketPriceFeedInit, 'fromBlock'>
  private readonly c: MarketPriceFeedComponents
  /** `${jobId}:${specHash}` → class; keyed by the hash we computed, so only the real descriptor matches. */
  private readonly known = new Map<string, ResourceClass>()
  /** Job terms already read, for re-awards of the same job. */
  private readonly terms = new Map<string, { specHash: Hex; maxFuel: bigint }>()
  private next: bigint | undefined
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<number> | undefined
  private stopped = false

  constructor(init: MarketPriceFeedInit, components: MarketPriceFeedComponents) {
    this.init = {
      pollIntervalMs: 1_000,
      lookbackBlocks: 50_000n,
      rescanBlocks: 2n,
      maxKnownJobs: 10_000,
      ...(init.fromBlock === undefined ? {} : { fromBlock: init.fromBlock }),
      ...(init.pollIntervalMs === undefined ? {} : { pollIntervalMs: init.pollIntervalMs }),
      ...(init.lookbackBlocks === undefined ? {} : { lookbackBlocks: init.lookbackBlocks }),
      ...(init.rescanBlocks === undefined ? {} : { rescanBlocks: init.rescanBlocks }),
      ...(init.maxKnownJobs === undefined ? {} : { maxKnownJobs: init.maxKnownJobs }),
    }
    this.index = new PriceIndex({ windowSeconds: init.windowSeconds ?? 24n * 3600n })
    this.c = components
  }

  /**
   * Told of every award the scan finds (once per award): a provider learns from it that it won,
   * even when the requester's award notice never reached it.
   */
  onAward: ((award: { jobId: bigint; provider: Address; pricePerFuel: bigint }) => void) | undefined

  /** Remembers an announced job's class, for when its award shows up on-chain. */
  learn(announcement: JobAnnouncement): void {
    const { chain } = this.c
    if (
      announcement.chainId !== chain.chainId ||
      announcement.market.toLowerCase() !== chain.market.toLowerCase()
    )
      return
    let specHash: Hex
    try {
      specHash = hashJobDescriptor(announcement.job)
    } catch {
      return
    }
    const key = `${announcement.jobId}:${specHash.toLowerCase()}`
    if (this.known.has(key)) return
    this.known.set(key, resourceClass(requirementsOf(announcement.job)))
    // Maps iterate in insertion order: the first key is the oldest.
    while (this.known.size > this.init.maxKnownJobs) this.known.delete(this.known.keys().next().value!)
  }

  /** Clearing prices per class as of `nowSeconds` (default: this machine's clock). */
  snapshot(nowSeconds = localNow()): PriceIndexSnapshot {
    return this.index.snapshot(nowSeconds)
  }

  /** Scans the chain once for new awards; returns how many were new. Concurrent calls share one scan. */
  poll(): Promise<number> {
    this.inFlight ??= this.scan().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  /** Polls now and then every `pollIntervalMs` until `stop()`. */
  start(): void {
    const tick = () => {
      if (this.stopped) return
      this.poll()
        .catch((err: unknown) => {
          this.stats.pollErrors++
          this.c.logger.warn({ err: describeError(err) }, 'price feed: could not read awards')
        })
        .finally(() => {
          if (this.stopped) return
          this.timer = setTimeout(tick, this.init.pollIntervalMs)
          this.timer.unref()
        })
    }
    tick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.inFlight?.catch(() => undefined)
  }

  private async scan(): Promise<number> {
    const { chain } = this.c
    if (this.next === undefined) {
      if (this.init.fromBlock !== undefined) this.next = this.init.fromBlock
      else {
        const latest = await chain.blockNumber()
        this.next = latest > this.init.lookbackBlocks ? latest - this.init.lookbackBlocks : 0n
      }
    }
    const from = this.next
    const scan = await chain.awardsSince(from)
    let added = 0
    const now = localNow()
    for (const award of scan.awards) {
      const key = award.jobId.toString()
      let terms = this.terms.get(key)
      if (terms === undefined) {
        const job = await chain.getJob(award.jobId)
        terms = { specHash: job.specHash, maxFuel: job.maxFuel }
        this.terms.set(key, terms)
        while (this.terms.size > this.init.maxKnownJobs) this.terms.delete(this.terms.keys().next().value!)
      }
      let time = award.timeSeconds
      if (time > now) time = now
      const announced = this.known.get(`${key}:${terms.specHash.toLowerCase()}`)
      const recorded = this.index.record({
        jobId: award.jobId,
        provider: award.provider,
        resourceClass: announced ?? unclassifiedResourceClass(terms.maxFuel),
        pricePerFuel: award.pricePerFuel,
        timeSeconds: time,
      })
      if (!recorded) continue
      this.onAward?.(award)
      added++
      this.stats.awards++
      if (announced === undefined) this.stats.unclassified++
      else this.stats.classified++
    }
    this.stats.polls++
    this.stats.lastBlock = scan.toBlock
    // Rescan a few blocks next time: an award a shallow reorg moved is still found (it counts once).
    const resume = scan.toBlock + 1n - this.init.rescanBlocks
    this.next = resume > from ? resume : from
    if (added > 0) this.index.prune(now)
    return added
  }
}

function localNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000))
}

export function createMarketPriceFeed(
  init: MarketPriceFeedInit,
  components: MarketPriceFeedComponents,
): MarketPriceFeed {
  return new MarketPriceFeed(init, components)
}
