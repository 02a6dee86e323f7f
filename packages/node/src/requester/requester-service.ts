import { selectBids } from '@bazaar/market'
import {
  awardReplySchema,
  BaseError,
  type BidMessageWire,
  type BidReply,
  bytes32ToCid,
  decodeMessage,
  describeError,
  ErrorCode,
  type JobAnnouncement,
  PROTOCOL_AWARD,
  type ResultReceipt,
  resultReceiptSchema,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import type { JobEvent, JobEventListener } from './job-events.ts'
import type { PreparedJob } from './prepare-job.ts'

export interface RequesterInit {
  /** Times a job with no qualifying bid is announced again before it is cancelled. */
  maxAnnouncements?: number
  /** How often the chain is polled while waiting for a result. */
  pollIntervalMs?: number
  /** Bids must stay valid this long after selection, so the award lands in time. */
  minBidValiditySeconds?: number
}

export interface RequesterComponents {
  chain: MarketChain
  network: NetworkServices
  store: ContentStore
  logger: Logger
}

export type JobOutcomeStatus = 'completed' | 'failed' | 'refunded' | 'unverified'

export interface JobOutcome {
  jobId: bigint
  status: JobOutcomeStatus
  provider?: Address
  pricePerFuel?: bigint
  fuelUsed: bigint
  escrow: bigint
  paid: bigint
  refunded: bigint
  receipt?: ResultReceipt
  output?: Uint8Array
  /** Gas this requester spent on the job's transactions. */
  gasUsed: bigint
  bidsReceived: number
  error?: { code: string; message: string; hint?: string }
}

export class NoBidsError extends BaseError {
  override name = 'NoBidsError' as const
}

interface Auction {
  announcement: JobAnnouncement
  bids: BidMessageWire[]
  onEvent: (event: JobEvent) => void
}

/**
 * The requester role: escrow a job, announce it, collect sealed bids, award the best,
 * verify the result it gets back against what the provider revealed on-chain, and settle.
 */
export class RequesterService {
  private readonly auctions = new Map<string, Auction>()
  private readonly init: Required<RequesterInit>
  private readonly c: RequesterComponents

  constructor(init: RequesterInit, components: RequesterComponents) {
    this.init = { maxAnnouncements: 5, pollIntervalMs: 100, minBidValiditySeconds: 10, ...init }
    this.c = components
  }

  /** Handles a sealed bid arriving on the bid stream. */
  async onBid(bid: BidMessageWire): Promise<BidReply> {
    const auction = this.auctions.get(bid.jobId)
    if (!auction) return { type: 'bid-reply', accepted: false, reason: 'no open auction for this job' }
    const reject = (reason: string): BidReply => {
      auction.onEvent({ type: 'bid-rejected', jobId: BigInt(bid.jobId), provider: bid.provider, reason })
      return { type: 'bid-reply', accepted: false, reason }
    }
    if (Date.now() > auction.announcement.bidDeadline) return reject('bidding window closed')
    if (BigInt(bid.pricePerFuel) > BigInt(auction.announcement.job.maxPricePerFuel))
      return reject('price above max')
    const valid = await this.c.chain.verifyBid({
      jobId: BigInt(bid.jobId),
      provider: bid.provider,
      pricePerFuel: BigInt(bid.pricePerFuel),
      expiry: BigInt(bid.expiry),
      signature: bid.signature,
    })
    if (!valid) return reject('signature does not match the provider')
    const index = auction.bids.findIndex((b) => b.provider.toLowerCase() === bid.provider.toLowerCase())
    if (index >= 0) auction.bids[index] = bid
    else auction.bids.push(bid)
    auction.onEvent({
      type: 'bid',
      jobId: BigInt(bid.jobId),
      provider: bid.provider,
      pricePerFuel: BigInt(bid.pricePerFuel),
    })
    return { type: 'bid-reply', accepted: true }
  }

  /** Runs one job through the whole market. Never leaves funds locked: every exit settles or refunds. */
  async run(
    job: PreparedJob,
    options: { onEvent?: JobEventListener; signal?: AbortSignal } = {},
  ): Promise<JobOutcome> {
    const emit = (event: JobEvent) => options.onEvent?.({ ...event, at: Date.now() })
    const { chain, network, store } = this.c
    let gasUsed = 0n
    for (const [cid, bytes] of job.blobs) await store.putVerified(cid, bytes)

    const maxFuel = BigInt(job.descriptor.limits.fuel)
    const maxPricePerFuel = BigInt(job.descriptor.maxPricePerFuel)
    // Deadlines are judged by block time, which need not match this machine's clock.
    const nowSeconds = await chain.nowSeconds()
    const biddingMs = job.spec.deadlines.biddingMs
    const biddingBudgetSeconds = BigInt(Math.ceil((biddingMs * this.init.maxAnnouncements) / 1000) + 30)
    const created = await chain.createJob({
      specHash: job.specHash,
      maxPricePerFuel,
      maxFuel,
      bidDeadline: nowSeconds + biddingBudgetSeconds,
      executionDeadline: nowSeconds + biddingBudgetSeconds + BigInt(job.spec.deadlines.executionSeconds),
    })
    gasUsed += created.gasUsed
    const jobId = created.jobId
    const key = jobId.toString()
    const escrow = maxFuel * maxPricePerFuel
    emit({ type: 'created', jobId, escrow })

    const base = { jobId, escrow, gasUsed: 0n, fuelUsed: 0n, paid: 0n, refunded: 0n, bidsReceived: 0 }
    const refund = async (reason: string, error: BaseError): Promise<JobOutcome> => {
      const state = (await chain.getJob(jobId)).status
      if (state === 'Open') gasUsed += (await chain.cancelJob(jobId)).gasUsed
      else gasUsed += (await chain.reclaimExpired(jobId)).gasUsed
      emit({ type: 'refunded', jobId, reason })
      return { ...base, status: 'refunded', refunded: escrow, gasUsed, error: error.toJSON() }
    }

    // Auction: announce, collect sealed bids until the window closes, pick the best.
    let winner: BidMessageWire | undefined
    let bidsReceived = 0
    const losers: BidMessageWire[] = []
    for (let attempt = 1; attempt <= this.init.maxAnnouncements && !winner; attempt++) {
      const announcement: JobAnnouncement = {
        type: 'job-announcement',
        chainId: chain.chainId,
        market: chain.market,
        jobId: key,
        requester: chain.address,
        requesterPeerId: network.peerId,
        specHash: job.specHash,
        job: job.descriptor,
        bidDeadline: Date.now() + biddingMs,
      }
      const auction: Auction = { announcement, bids: [], onEvent: emit }
      this.auctions.set(key, auction)
      await network.publishJob(announcement)
      emit({ type: 'announced', jobId, attempt, bidDeadline: announcement.bidDeadline })
      await sleep(announcement.bidDeadline - Date.now(), options.signal)
      this.auctions.delete(key)
      bidsReceived += auction.bids.length
      const eligibility = new Map<string, boolean>()
      for (const bid of auction.bids)
        eligibility.set(bid.provider.toLowerCase(), await chain.isEligible(bid.provider))
      const selection = selectBids(
        auction.bids.map((bid) => ({
          ...bid,
          pricePerFuel: BigInt(bid.pricePerFuel),
          expiry: BigInt(bid.expiry),
        })),
        1,
        {
          maxPricePerFuel,
          nowSeconds: await chain.nowSeconds(),
          minValiditySeconds: BigInt(this.init.minBidValiditySeconds),
          isEligible: (provider) => eligibility.get(provider.toLowerCase()) === true,
        },
      )
      for (const { bid, reason } of selection.rejected)
        emit({ type: 'bid-rejected', jobId, provider: bid.provider, reason })
      const best = selection.winners[0]?.bid
      if (best) {
        winner = auction.bids.find((b) => b.provider === best.provider)
        losers.push(...auction.bids.filter((b) => b !== winner))
      } else {
        losers.push(...auction.bids)
        emit({ type: 'no-bids', jobId, attempt })
        // Let busy providers free capacity before the job is offered again.
        await sleep(Math.min(250 * attempt, 1_000), options.signal)
      }
    }
    for (const loser of losers) this.notify(loser.providerPeerId, { type: 'bid-declined', jobId: key })
    if (!winner) {
      return refund(
        'no qualifying bid',
        new NoBidsError(ErrorCode.NoBids, `job ${key} received no qualifying bid`, {
          hint: 'raise price.maxPerFuel, lower resources, or check `bazaar market offers`',
          details: { announcements: this.init.maxAnnouncements, bidsReceived },
        }),
      )
    }

    const pricePerFuel = BigInt(winner.pricePerFuel)
    const award = await chain.award({
      jobId,
      provider: winner.provider,
      pricePerFuel,
      expiry: BigInt(winner.expiry),
      signature: winner.signature as Hex,
    })
    gasUsed += award.gasUsed
    emit({ type: 'awarded', jobId, provider: winner.provider, pricePerFuel, bids: bidsReceived })
    const ack = await network
      .request(
        winner.providerPeerId,
        PROTOCOL_AWARD,
        { type: 'award', jobId: key, txHash: award.hash },
        awardReplySchema,
        {
          ...(options.signal ? { signal: options.signal } : {}),
        },
      )
      .catch((err: unknown) => ({
        type: 'award-reply' as const,
        accepted: false,
        reason: describeError(err),
      }))
    if (!ack.accepted)
      this.c.logger.warn({ jobId: key, reason: ack.reason }, 'provider did not acknowledge award')

    // Wait for the reveal; past the execution deadline the escrow comes back.
    let onChain = await chain.getJob(jobId)
    while (onChain.status === 'Awarded' || onChain.status === 'Committed') {
      if ((await chain.nowSeconds()) > onChain.executionDeadline) {
        return {
          ...(await refund(
            'provider missed the execution deadline',
            new BaseError(
              ErrorCode.Timeout,
              `provider ${winner.provider} did not deliver job ${key} in time`,
              {
                hint: 'the escrow was refunded and the provider collateral slashed; submit the job again',
              },
            ),
          )),
          provider: winner.provider,
          pricePerFuel,
          bidsReceived,
        }
      }
      await sleep(this.init.pollIntervalMs, options.signal)
      onChain = await chain.getJob(jobId)
    }
    emit({ type: 'revealed', jobId, fuelUsed: onChain.fuelUsed })

    // Verify: the receipt must hash to what was revealed, and the output to what it names.
    let receipt: ResultReceipt | undefined
    let output: Uint8Array | undefined
    let verifyError: BaseError | undefined
    try {
      const receiptBytes = await network.fetch(winner.providerPeerId, bytes32ToCid(onChain.resultHash))
      receipt = decodeMessage(resultReceiptSchema, receiptBytes, 'result receipt')
      if (receipt.jobId !== key || BigInt(receipt.fuelUsed) !== onChain.fuelUsed) {
        throw new BaseError(ErrorCode.InvalidMessage, 'receipt does not match the revealed job or fuel')
      }
      if (receipt.status === 'ok') {
        output = await network.fetch(winner.providerPeerId, receipt.outputCid, {
          maxBytes: job.descriptor.limits.outputBytes,
        })
        emit({ type: 'verified', jobId, outputBytes: output.length })
      }
    } catch (err) {
      verifyError =
        err instanceof BaseError ? err : new BaseError(ErrorCode.Internal, describeError(err), { cause: err })
      this.c.logger.warn({ jobId: key, err: describeError(err) }, 'result could not be verified')
    }
    if (verifyError) {
      // Not finalized by us: the challenge window stays open for a dispute.
      return {
        ...base,
        status: 'unverified',
        provider: winner.provider,
        pricePerFuel,
        fuelUsed: onChain.fuelUsed,
        gasUsed,
        bidsReceived,
        error: verifyError.toJSON(),
      }
    }
    const settled = await chain.finalize(jobId)
    gasUsed += settled.gasUsed
    emit({ type: 'finalized', jobId, paid: settled.paid, refunded: settled.refunded })
    return {
      ...base,
      status: receipt?.status === 'ok' ? 'completed' : 'failed',
      provider: winner.provider,
      pricePerFuel,
      fuelUsed: onChain.fuelUsed,
      paid: settled.paid,
      refunded: settled.refunded,
      gasUsed,
      bidsReceived,
      ...(receipt ? { receipt } : {}),
      ...(output ? { output } : {}),
      ...(receipt?.status === 'error'
        ? { error: { code: receipt.errorCode, message: receipt.errorMessage } }
        : {}),
    }
  }

  private notify(peer: string, message: { type: 'bid-declined'; jobId: string }): void {
    this.c.network
      .request(peer, PROTOCOL_AWARD, message, awardReplySchema, { timeoutMs: 5_000 })
      .catch((err: unknown) => {
        this.c.logger.debug({ peer, err: describeError(err) }, 'could not tell a provider its bid lost')
      })
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, Math.max(0, ms))
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}
