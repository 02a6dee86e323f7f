import { ChainError } from '@bazaar/chain'
import {
  type Exclusion,
  type Explanation,
  explainJob,
  type JobRequirements,
  OfferBook,
  PriceIndex,
  type ProviderStanding,
  resourceClass,
  type SelectionPolicy,
  selectBestBids,
} from '@bazaar/market'
import {
  awardReplySchema,
  BaseError,
  type BidMessageWire,
  type BidReply,
  type BidStreamMessage,
  bytes32ToCid,
  decodeMessage,
  describeError,
  ErrorCode,
  isVoucherJobId,
  type JobAnnouncement,
  type JobDescriptor,
  marketDomain,
  type OfferWire,
  offerFromWire,
  offerTypedMessage,
  offerTypes,
  PROTOCOL_AWARD,
  type ResultReceipt,
  resultReceiptSchema,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type Address, type Hex, verifyTypedData, zeroHash } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import { retryUntil } from '../retry-until.ts'
import { sleep } from '../sleep.ts'
import type { NodeStore } from '../store/node-store.ts'
import {
  type AuditCourt,
  type AuditOutcome,
  openAudit,
  settleAudit,
} from '../verification/audit-settlement.ts'
import { awaitChallenges, type OptimisticCourt } from '../verification/optimistic-settlement.ts'
import type { ReplicaSettlement, ReplicatedCourt } from '../verification/replicated-settlement.ts'
import type { JobEvent, JobEventListener } from './job-events.ts'
import type { PreparedJob } from './prepare-job.ts'
import { type ReplicatedHost, resumeReplicated, runReplicated } from './replicated-job.ts'

export interface RequesterInit {
  /** Times a job with no qualifying bid is announced again before it is cancelled. */
  maxAnnouncements?: number
  /** How often the chain is polled while waiting for a result. */
  pollIntervalMs?: number
  /** Bids must stay valid this long after selection, so the award lands in time. */
  minBidValiditySeconds?: number
  /** Selection policy (k is 1 until replicated verification). */
  policy?: Partial<Omit<SelectionPolicy, 'k'>>
}

export interface RequesterComponents {
  chain: MarketChain
  network: NetworkServices
  store: ContentStore
  logger: Logger
  /** On-chain standing of a provider (stake, jailed, reputation) for selection and explain. */
  standingOf: (provider: Address) => Promise<ProviderStanding>
  /**
   * The market's clearing prices, shared with the node's chain feed (every award on the
   * market). This requester's own awards are recorded in it at once; without it the index
   * holds only those.
   */
  prices?: { readonly index: PriceIndex; learn(announcement: JobAnnouncement): void }
  /** The verification court for this signer; jobs with a verification mode other than none need it. */
  court?: AuditCourt & OptimisticCourt & ReplicatedCourt
  /**
   * Persistent state (docs/reliability.md): the job, its chosen bid and its events are written
   * before they are acted on, and `resume` continues a job after a restart.
   */
  db?: Pick<NodeStore, 'requesterJobs'>
}

/** What the steps after the auction need to know about a job (rebuilt from the store on resume). */
interface AwardedJob {
  jobId: bigint
  escrow: bigint
  descriptor: JobDescriptor
  bidsReceived: number
  gasUsed: bigint
  winner?: BidMessageWire
  auditCaseId?: bigint
}

function restartedError(key: string): BaseError {
  return new BaseError(ErrorCode.Aborted, `job ${key} was interrupted by a requester restart and refunded`, {
    hint: 'the escrow was returned; submit the job again',
  })
}

/** Why one provider is not working on a job: from its bid, its decline, or its offer. */
export interface ProviderReason {
  provider: string
  source: 'bid' | 'decline' | 'offer'
  reasons: Exclusion[]
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
  /**
   * A replicated job (docs/verification.md): what became of each replica. `jobId` is then the
   * first replica's, `escrow`, `paid` and `refunded` are over all k, and `provider`,
   * `pricePerFuel` and the result are those of the upheld replica the output was fetched from.
   */
  replicas?: (ReplicaSettlement & { provider: Address; pricePerFuel: bigint })[]
}

/**
 * Another way to pay for a job than a JobMarket escrow (the voucher path, docs/vouchers.md). Its
 * `run` emits `created` with the job's id first; the service stores and times the job like any.
 */
export interface PaymentPath {
  run(job: PreparedJob, options: { onEvent?: JobEventListener; signal?: AbortSignal }): Promise<JobOutcome>
  /** Continues a job of this path after a restart, from what the path stored. */
  resume?(jobId: bigint, options: { onEvent?: JobEventListener; signal?: AbortSignal }): Promise<JobOutcome>
}

/**
 * The node stopped while a job was in flight (a payment path's `stop`): nothing is recorded as
 * its end, so it stays stored unfinished and `resume` continues it at the next start.
 */
export class RunInterruptedError extends BaseError {
  override name = 'RunInterruptedError' as const
}

export class NoBidsError extends BaseError {
  override name = 'NoBidsError' as const
}

interface Auction {
  announcement: JobAnnouncement
  bids: BidMessageWire[]
  declines: Map<string, Exclusion>
  onEvent: (event: JobEvent) => void
  /** Providers with a current offer when the round opened: once all have answered, it closes early. */
  expected: Set<string>
  /** Called whenever a provider answers (bid or decline). */
  onAnswer: () => void
  /** Set once the bids have been evaluated: later bids are refused (so their capacity is freed). */
  closed: boolean
}

/** What the market engine needs to know about a job. */
export function requirementsOf(job: JobDescriptor): JobRequirements {
  return {
    runtime: job.runtime,
    cores: job.resources.cores,
    memoryMb: job.resources.memoryMb,
    maxPricePerFuel: BigInt(job.maxPricePerFuel),
  }
}

/**
 * The requester role: escrow a job, announce it, collect sealed bids, award the best,
 * verify the result it gets back against what the provider revealed on-chain, and settle.
 */
export class RequesterService {
  private readonly auctions = new Map<string, Auction>()
  /** Providers' signed offers heard on gossip. */
  readonly offers = new OfferBook()
  /** Clearing prices per resource class: the whole market's when fed from the chain, else this node's awards. */
  readonly prices: PriceIndex
  private readonly init: Required<Omit<RequesterInit, 'policy'>> & Pick<RequesterInit, 'policy'>
  private readonly c: RequesterComponents

  constructor(init: RequesterInit, components: RequesterComponents) {
    this.init = { maxAnnouncements: 5, pollIntervalMs: 100, minBidValiditySeconds: 10, ...init }
    this.c = components
    this.prices = components.prices?.index ?? new PriceIndex({ windowSeconds: 24n * 3600n })
  }

  /** Offers and bid-stream messages dropped, by reason: bad input is counted, never fatal. */
  readonly dropped = { offers: new Map<string, number>(), bids: new Map<string, number>() }

  /** Handles a provider's signed offer from gossip: kept only if its signature is the provider's. */
  async onOffer(wire: OfferWire): Promise<'added' | 'replaced' | string> {
    const { chain } = this.c
    const drop = (reason: string) => {
      this.dropped.offers.set(reason, (this.dropped.offers.get(reason) ?? 0) + 1)
      this.c.logger.debug({ provider: wire.provider, reason }, 'dropped offer')
      return reason
    }
    if (wire.chainId !== chain.chainId || wire.market.toLowerCase() !== chain.market.toLowerCase()) {
      return drop('other-market')
    }
    const offer = offerFromWire(wire)
    const valid = await verifyTypedData({
      address: offer.provider,
      domain: marketDomain(chain.chainId, chain.market),
      types: offerTypes,
      primaryType: 'Offer',
      message: offerTypedMessage(offer),
      signature: offer.signature,
    }).catch(() => false)
    if (!valid) return drop('signature-invalid')
    const result = this.offers.add(offer, BigInt(Math.floor(Date.now() / 1000)))
    return result.status === 'rejected' ? drop(result.reason) : result.status
  }

  /** A dry run: which providers could take this job at what price, and why the others could not. */
  async explain(job: JobDescriptor): Promise<Explanation> {
    const nowSeconds = BigInt(Math.floor(Date.now() / 1000))
    const offers = this.offers.offers()
    const standing = await this.standings(offers.map((o) => o.provider))
    return explainJob(requirementsOf(job), offers, {
      nowSeconds,
      standing: (p) => standing.get(p.toLowerCase()),
      prices: this.prices.snapshot(nowSeconds),
      ...(this.init.policy ? { policy: this.init.policy } : {}),
    })
  }

  private async standings(providers: Iterable<string>): Promise<Map<string, ProviderStanding>> {
    const out = new Map<string, ProviderStanding>()
    for (const provider of new Set([...providers].map((p) => p.toLowerCase()))) {
      out.set(provider, await this.c.standingOf(provider as Address))
    }
    return out
  }

  /** Handles a sealed bid, or a provider's decline with its reason, arriving on the bid stream. */
  async onBid(message: BidStreamMessage): Promise<BidReply> {
    const auction = this.auctions.get(message.jobId)
    if (!auction) return { type: 'bid-reply', accepted: false, reason: 'no open auction for this job' }
    if (message.type === 'bid-decline') {
      const reason = message.reason as Exclusion['reason']
      auction.declines.set(message.provider.toLowerCase(), { reason, detail: message.detail })
      auction.onAnswer()
      auction.onEvent({
        type: 'declined',
        jobId: BigInt(message.jobId),
        provider: message.provider,
        reason,
        detail: message.detail,
      })
      return { type: 'bid-reply', accepted: true }
    }
    const bid = message
    const reject = (reason: string): BidReply => {
      this.dropped.bids.set(reason, (this.dropped.bids.get(reason) ?? 0) + 1)
      auction.onEvent({ type: 'bid-rejected', jobId: BigInt(bid.jobId), provider: bid.provider, reason })
      return { type: 'bid-reply', accepted: false, reason }
    }
    if (auction.closed || Date.now() > auction.announcement.bidDeadline)
      return reject('bidding window closed')
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
    auction.onAnswer()
    auction.onEvent({
      type: 'bid',
      jobId: BigInt(bid.jobId),
      provider: bid.provider,
      pricePerFuel: BigInt(bid.pricePerFuel),
    })
    return { type: 'bid-reply', accepted: true }
  }

  /**
   * The voucher path (docs/vouchers.md): when set (requester setting `payment: 'voucher'`), `run`
   * pays jobs by vouchers of the VoucherVault instead of a JobMarket escrow per job.
   */
  private voucherPath: PaymentPath | undefined

  usePaymentPath(path: PaymentPath | undefined): void {
    this.voucherPath = path
  }

  /** Runs one job through the whole market. Never leaves funds locked: every exit settles or refunds. */
  async run(
    job: PreparedJob,
    options: { onEvent?: JobEventListener; signal?: AbortSignal } = {},
  ): Promise<JobOutcome> {
    const created: { jobId?: bigint } = {}
    const path = this.voucherPath
    if (path && job.descriptor.verification.mode === 'none') {
      // Tracked like any job: stored at its `created` event, its timeline and end written here.
      const emit = this.emitter(options, created)
      return this.recordEnd(created, () =>
        path.run(job, {
          ...(options.signal ? { signal: options.signal } : {}),
          onEvent: (event) => {
            if (event.type === 'created' && created.jobId === undefined) {
              this.c.db?.requesterJobs.create({
                jobId: event.jobId,
                name: job.descriptor.name,
                descriptor: job.descriptor,
                escrow: 0n,
                submittedAt: Date.now(),
              })
              created.jobId = event.jobId
            }
            if (event.type === 'awarded' && created.jobId !== undefined) {
              this.c.db?.requesterJobs.update(created.jobId, { step: 'awarded' })
            }
            emit(event)
          },
        }),
      )
    }
    return this.recordEnd(created, () => this.runJob(job, options, created))
  }

  private readonly jobEventListeners = new Set<(event: JobEvent & { at: number }) => void>()

  /**
   * Follows events of this node's jobs that come outside their run (a voucher signed or a claim
   * seen after the job ended, docs/vouchers.md). Returns an unsubscribe.
   */
  onJobEvent(listener: (event: JobEvent & { at: number }) => void): () => void {
    this.jobEventListeners.add(listener)
    return () => this.jobEventListeners.delete(listener)
  }

  /** Puts an event on a stored job's timeline and tells `onJobEvent` listeners (the job tracker). */
  recordJobEvent(event: JobEvent): void {
    const stamped = { ...event, at: Date.now() }
    if (this.c.db?.requesterJobs.get(event.jobId)) this.c.db.requesterJobs.appendEvent(event.jobId, stamped)
    for (const listener of this.jobEventListeners) listener(stamped)
  }

  /**
   * Continues a job this node started before a restart, from where its stored state says it
   * stopped (docs/reliability.md): an auction in progress is cancelled (its bids were lost) and
   * refunded; a chosen bid is awarded if the chain has not seen the award and the bid is still
   * valid; an awarded job waits for the reveal, verifies, and finalizes (never twice: the chain
   * says whether it already was), or reclaims the escrow past the deadline; an audited job
   * continues its audit. Events go on the job's stored timeline.
   */
  async resume(
    jobId: bigint,
    options: { onEvent?: JobEventListener; signal?: AbortSignal } = {},
  ): Promise<JobOutcome> {
    const db = this.c.db
    const stored = db?.requesterJobs.get(jobId)
    if (!db || !stored) throw new BaseError(ErrorCode.NotFound, `no stored job ${jobId} on this node`)
    if (isVoucherJobId(jobId)) {
      // Paid by voucher (docs/vouchers.md): no JobMarket job behind it; the voucher path resumes it.
      const path = this.voucherPath
      const bids = db.requesterJobs.events<JobEvent>(jobId).filter((e) => e.type === 'bid').length
      const interrupted = new BaseError(
        ErrorCode.Aborted,
        `voucher job ${jobId} was interrupted by a restart and this node no longer pays by voucher`,
        { hint: 'its award (if any) stays claimable by the provider; set payment: voucher to follow it' },
      )
      return this.recordEnd({ jobId }, async () => {
        if (!path?.resume) throw interrupted
        const outcome = await path.resume(jobId, { ...options, onEvent: this.emitter(options, { jobId }) })
        return { ...outcome, bidsReceived: outcome.bidsReceived || bids }
      })
    }
    if (stored.descriptor.verification.mode === 'replicated') {
      const court = this.c.court
      if (!court)
        throw new BaseError(ErrorCode.Internal, `replicated job ${jobId} needs the verification court`)
      const created = { jobId }
      return this.recordEnd(created, () =>
        resumeReplicated(this.replicatedHost(court), stored, this.emitter(options, created), options.signal),
      )
    }
    const created = { jobId }
    return this.recordEnd(created, async () => {
      const emit = this.emitter(options, created)
      const { chain } = this.c
      const key = jobId.toString()
      const onChain = await chain.getJob(jobId)
      this.c.logger.info({ jobId: key, step: stored.step, status: onChain.status }, 'resuming job')
      const ctx: AwardedJob = {
        jobId,
        escrow: stored.escrow,
        descriptor: stored.descriptor,
        bidsReceived: stored.bidsReceived,
        gasUsed: stored.gasUsed,
        ...(stored.winner ? { winner: stored.winner } : {}),
        ...(stored.auditCaseId !== undefined ? { auditCaseId: stored.auditCaseId } : {}),
      }
      const winner = stored.winner
      let awardTx: Hex | undefined
      if (stored.step === 'auction' || !winner) {
        return this.refund(ctx, emit, 'the requester restarted during the auction', restartedError(key))
      }
      if (stored.step === 'awarding' && onChain.status === 'Open') {
        const validUntil = BigInt(winner.expiry) - BigInt(this.init.minBidValiditySeconds)
        if ((await chain.nowSeconds()) > validUntil) {
          return this.refund(
            ctx,
            emit,
            'the chosen bid expired while the requester restarted',
            restartedError(key),
          )
        }
        const award = await this.award(ctx, winner, emit)
        ctx.gasUsed += award.gasUsed
        awardTx = award.hash
      } else if (stored.step === 'awarding') {
        // The award landed before the restart: the winner may not have heard of it yet. The
        // notice's hash is informative only (providers check the chain), and unknown here.
        if (onChain.provider.toLowerCase() === winner.provider.toLowerCase()) awardTx = zeroHash
        db.requesterJobs.update(jobId, { step: 'awarded' })
      }
      return this.afterAward(ctx, winner, emit, options.signal, awardTx)
    })
  }

  /** What the replicated path (requester/replicated-job.ts) needs of this service. */
  private replicatedHost(court: ReplicatedCourt): ReplicatedHost {
    return {
      chain: this.c.chain,
      network: this.c.network,
      store: this.c.store,
      logger: this.c.logger,
      court,
      prices: this.prices,
      db: this.c.db,
      pollMs: this.init.pollIntervalMs,
      maxAnnouncements: this.init.maxAnnouncements,
      runAuction: (j, id, o) => this.runAuction(j, id, o),
      decline: (peer, jobId) => this.notify(peer, { type: 'bid-declined', jobId }),
    }
  }

  /** Runs `fn`, then writes the job's end (outcome, or error) to the database. */
  private async recordEnd(created: { jobId?: bigint }, fn: () => Promise<JobOutcome>): Promise<JobOutcome> {
    const db = this.c.db
    try {
      const outcome = await fn()
      if (db) {
        const { output: _output, ...kept } = outcome
        db.requesterJobs.update(outcome.jobId, {
          step: 'ended',
          state: outcome.status,
          outcome: kept,
          ...(outcome.error ? { error: outcome.error } : {}),
        })
      }
      return outcome
    } catch (err) {
      if (db && created.jobId !== undefined && !(err instanceof RunInterruptedError)) {
        const base = err as Partial<BaseError>
        db.requesterJobs.update(created.jobId, {
          step: 'ended',
          state: 'error',
          error: {
            code: base.code ?? ErrorCode.Internal,
            message: describeError(err),
            ...(base.hint ? { hint: base.hint } : {}),
          },
        })
      }
      throw err
    }
  }

  /** Stamps events, writes them on the job's timeline once it has an id, then passes them on. */
  private emitter(
    options: { onEvent?: JobEventListener },
    created: { jobId?: bigint },
  ): (event: JobEvent) => void {
    return (event) => {
      const stamped = { ...event, at: Date.now() }
      if (created.jobId !== undefined) this.c.db?.requesterJobs.appendEvent(created.jobId, stamped)
      options.onEvent?.(stamped)
    }
  }

  private async runJob(
    job: PreparedJob,
    options: { onEvent?: JobEventListener; signal?: AbortSignal },
    createdRef: { jobId?: bigint },
  ): Promise<JobOutcome> {
    const emit = this.emitter(options, createdRef)
    const { chain, network, store } = this.c
    const verification = job.descriptor.verification
    const court = this.c.court
    if (verification.mode !== 'none' && !court) {
      // Checked before any escrow moves: verification this node cannot run must not start.
      throw new BaseError(
        ErrorCode.InvalidSpec,
        `this node cannot run verified (${verification.mode}) jobs: no verification court`,
        {
          hint: 'use a deployment that includes the VerificationCourt, or submit with verification: { mode: none }',
        },
      )
    }
    for (const [cid, bytes] of job.blobs) await store.putVerified(cid, bytes)
    if (verification.mode === 'replicated' && court) {
      return runReplicated(this.replicatedHost(court), job, emit, createdRef, options.signal)
    }

    const maxFuel = BigInt(job.descriptor.limits.fuel)
    const maxPricePerFuel = BigInt(job.descriptor.maxPricePerFuel)
    // Deadlines are judged by block time (which need not match this machine's clock), counted
    // from when the creating transaction is sent.
    const biddingMs = job.spec.deadlines.biddingMs
    const biddingBudgetSeconds = BigInt(Math.ceil((biddingMs * this.init.maxAnnouncements) / 1000) + 30)
    const created = await chain.createJob({
      specHash: job.specHash,
      maxPricePerFuel,
      maxFuel,
      biddingSeconds: biddingBudgetSeconds,
      executionSeconds: BigInt(job.spec.deadlines.executionSeconds),
    })
    const jobId = created.jobId
    const escrow = maxFuel * maxPricePerFuel
    // Written as soon as the escrow is locked, so a restarted node knows the job is its own.
    this.c.db?.requesterJobs.create({
      jobId,
      name: job.descriptor.name,
      descriptor: job.descriptor,
      escrow,
      submittedAt: Date.now(),
    })
    createdRef.jobId = jobId
    emit({ type: 'created', jobId, escrow })
    const ctx: AwardedJob = {
      jobId,
      escrow,
      descriptor: job.descriptor,
      bidsReceived: 0,
      gasUsed: created.gasUsed,
    }

    // Auction: announce, collect sealed bids until the window closes, pick the best.
    const auctioned = await this.runAuction(job, jobId, {
      emit,
      publish: (announcement) => network.publishJob(announcement),
      ...(options.signal ? { signal: options.signal } : {}),
    })
    ctx.bidsReceived = auctioned.bidsReceived
    const winner = auctioned.winner
    if (!winner) return this.refund(ctx, emit, 'no qualifying bid', auctioned.noBids)

    // The chosen bid is written before the award, so a restart can award it or see it awarded.
    this.c.db?.requesterJobs.update(jobId, {
      step: 'awarding',
      winner,
      bidsReceived: ctx.bidsReceived,
      gasUsed: ctx.gasUsed,
    })
    ctx.winner = winner
    const award = await this.award(ctx, winner, emit)
    ctx.gasUsed += award.gasUsed
    return this.afterAward(ctx, winner, emit, options.signal, award.hash)
  }

  /**
   * One job's auction (shared by the per-job on-chain path and the voucher path): announce with
   * `publish`, collect sealed bids until the window closes or every known provider answered, pick
   * the best by policy, tell the losers; announced again up to `maxAnnouncements` times. The job
   * id is the JobMarket id, or a voucher-job id (docs/vouchers.md) that no JobMarket job can have.
   */
  async runAuction(
    job: PreparedJob,
    jobId: bigint,
    options: {
      emit: (event: JobEvent) => void
      publish: (announcement: JobAnnouncement) => Promise<void>
      signal?: AbortSignal
      /** Providers (lowercase) whose bids are not taken: a replicated job's earlier winners. */
      exclude?: ReadonlySet<string>
    },
  ): Promise<
    | { winner: BidMessageWire; bidsReceived: number }
    | { winner?: undefined; bidsReceived: number; noBids: NoBidsError }
  > {
    const { emit, publish, signal } = options
    const { chain, network } = this.c
    const key = jobId.toString()
    const biddingMs = job.spec.deadlines.biddingMs
    let winner: BidMessageWire | undefined
    let bidsReceived = 0
    let lastRound: { auction: Auction; excluded: { provider: string; reasons: Exclusion[] }[] } | undefined
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
        requesterAddrs: network.multiaddrs().slice(0, 8),
      }
      const nowSec = BigInt(Math.floor(Date.now() / 1000))
      const expected = new Set(this.offers.active(nowSec).map((o) => o.provider.toLowerCase()))
      const allAnswered = Promise.withResolvers<void>()
      const auction: Auction = {
        announcement,
        bids: [],
        declines: new Map(),
        onEvent: emit,
        expected,
        closed: false,
        onAnswer: () => {
          const answered = new Set([
            ...auction.bids.map((b) => b.provider.toLowerCase()),
            ...auction.declines.keys(),
          ])
          if (expected.size > 0 && [...expected].every((p) => answered.has(p))) allAnswered.resolve()
        },
      }
      this.auctions.set(key, auction)
      // Gossip does not echo our own announcement back: tell the feed the job's class directly,
      // so its award is classed right whichever of us records it first.
      this.c.prices?.learn(announcement)
      await publish(announcement)
      emit({ type: 'announced', jobId, attempt, bidDeadline: announcement.bidDeadline })
      // The window closes at its deadline, or as soon as every provider we know of has answered:
      // nobody else is expected, so waiting longer only adds latency.
      await Promise.race([sleep(announcement.bidDeadline - Date.now(), signal), allAnswered.promise])
      auction.closed = true
      // Kept a while after the window closes, so late bids and declines are still recorded
      // (as rejected: too late) rather than vanishing.
      setTimeout(() => {
        if (this.auctions.get(key) === auction) this.auctions.delete(key)
      }, 30_000).unref()
      bidsReceived += auction.bids.length
      const standing = await this.standings(auction.bids.map((b) => b.provider))
      const selection = selectBestBids(
        auction.bids
          .filter((bid) => !options.exclude?.has(bid.provider.toLowerCase()))
          .map((bid) => ({
            ...bid,
            pricePerFuel: BigInt(bid.pricePerFuel),
            expiry: BigInt(bid.expiry),
            signatureValid: true, // checked on arrival; forged bids never enter the auction
          })),
        {
          job: requirementsOf(job.descriptor),
          nowSeconds: await chain.nowSeconds(),
          standing: (provider) => standing.get(provider.toLowerCase()),
        },
        {
          ...this.init.policy,
          k: 1,
          minValiditySeconds: BigInt(this.init.minBidValiditySeconds),
        },
      )
      for (const { bid, reasons } of selection.excluded) {
        emit({
          type: 'bid-rejected',
          jobId,
          provider: bid.provider,
          reason: reasons.map((r) => r.detail).join('; '),
        })
      }
      lastRound = {
        auction,
        excluded: selection.excluded.map((e) => ({ provider: e.bid.provider, reasons: e.reasons })),
      }
      const best = selection.winners[0]?.bid
      if (best) {
        winner = auction.bids.find((b) => b.provider === best.provider)
        losers.push(...auction.bids.filter((b) => b !== winner))
      } else {
        // Release the excluded bidders now, so they can bid afresh in the next round.
        for (const bid of auction.bids) this.notify(bid.providerPeerId, { type: 'bid-declined', jobId: key })
        emit({ type: 'no-bids', jobId, attempt })
        // Let busy providers free capacity before the job is offered again.
        await sleep(Math.min(250 * attempt, 1_000), signal)
      }
    }
    for (const loser of losers) this.notify(loser.providerPeerId, { type: 'bid-declined', jobId: key })
    if (!winner) {
      const reasons = await this.noBidReasons(job.descriptor, lastRound)
      const summary = [...new Set(reasons.flatMap((r) => r.reasons.map((x) => x.reason)))].join(', ')
      return {
        bidsReceived,
        noBids: new NoBidsError(
          ErrorCode.NoBids,
          `job ${key} received no qualifying bid${summary ? ` (providers: ${summary})` : ' (no provider answered)'}`,
          {
            hint: 'see details.reasons per provider; raise price.maxPerFuel, lower resources, or try `bazaar market explain`',
            details: { announcements: this.init.maxAnnouncements, bidsReceived, reasons },
          },
        ),
      }
    }
    return { winner, bidsReceived }
  }

  /** Awards the chosen bid on-chain, records its price, and marks the job awarded. */
  private async award(ctx: AwardedJob, winner: BidMessageWire, emit: (event: JobEvent) => void) {
    const { jobId } = ctx
    const pricePerFuel = BigInt(winner.pricePerFuel)
    const award = await this.c.chain.award({
      jobId,
      provider: winner.provider,
      pricePerFuel,
      expiry: BigInt(winner.expiry),
      signature: winner.signature as Hex,
    })
    this.c.db?.requesterJobs.update(jobId, { step: 'awarded', gasUsed: ctx.gasUsed + award.gasUsed })
    this.prices.record({
      jobId,
      provider: winner.provider,
      resourceClass: resourceClass(requirementsOf(ctx.descriptor)),
      pricePerFuel,
      timeSeconds: BigInt(Math.floor(Date.now() / 1000)),
    })
    emit({ type: 'awarded', jobId, provider: winner.provider, pricePerFuel, bids: ctx.bidsReceived })
    return award
  }

  /** Refunds an unawarded or expired job (cancel if still open, else reclaim) and reports why. */
  private async refund(
    ctx: AwardedJob,
    emit: (event: JobEvent) => void,
    reason: string,
    error: BaseError,
  ): Promise<JobOutcome> {
    const { chain } = this.c
    const { jobId, escrow } = ctx
    const state = (await chain.getJob(jobId)).status
    if (state === 'Open') ctx.gasUsed += (await chain.cancelJob(jobId)).gasUsed
    else if (state === 'Awarded' || state === 'Committed') ctx.gasUsed += await this.reclaim(jobId)
    // Cancelled or Expired already (by us before a restart, or by anyone): nothing left to move.
    if (ctx.auditCaseId !== undefined && this.c.court) {
      // The audit of a job that expired ends here, and its fee comes back.
      ctx.gasUsed += await this.c.court
        .settleCase(ctx.auditCaseId)
        .then((r) => r.gasUsed)
        .catch((err: unknown) => {
          this.c.logger.warn({ jobId: jobId.toString(), err: describeError(err) }, 'audit case not closed')
          return 0n
        })
    }
    emit({ type: 'refunded', jobId, reason })
    return {
      jobId,
      status: 'refunded',
      escrow,
      fuelUsed: 0n,
      paid: 0n,
      refunded: escrow,
      gasUsed: ctx.gasUsed,
      bidsReceived: ctx.bidsReceived,
      error: error.toJSON(),
    }
  }

  /**
   * From the award on: tell the winner (when this call sent the award, `awardTx`), open the audit if the job asks for one,
   * wait for the reveal (or reclaim past the deadline), verify receipt and output, and settle.
   */
  private async afterAward(
    ctx: AwardedJob,
    winner: BidMessageWire,
    emit: (event: JobEvent) => void,
    signal: AbortSignal | undefined,
    awardTx: Hex | undefined,
  ): Promise<JobOutcome> {
    const { chain, network, store } = this.c
    const { jobId, escrow } = ctx
    const key = jobId.toString()
    const pricePerFuel = BigInt(winner.pricePerFuel)
    const verification = ctx.descriptor.verification
    const court = this.c.court
    const base = { jobId, escrow, gasUsed: 0n, fuelUsed: 0n, paid: 0n, refunded: 0n }
    // Audited jobs are held by the court from here: it, not finalize, settles them.
    const auditInit =
      verification.mode === 'audit' && court
        ? {
            court,
            onEvent: (event: JobEvent) => emit(event),
            pollMs: this.init.pollIntervalMs,
            ...(signal ? { signal } : {}),
          }
        : undefined
    if (auditInit && ctx.auditCaseId === undefined) {
      const audit = await openAudit(
        auditInit,
        jobId,
        verification.mode === 'audit' ? verification.probability : 1,
      )
      ctx.gasUsed += audit.gasUsed
      ctx.auditCaseId = audit.caseId
      this.c.db?.requesterJobs.update(jobId, { auditCaseId: audit.caseId, gasUsed: ctx.gasUsed })
    }
    if (awardTx) {
      const ack = await network
        .request(
          winner.providerPeerId,
          PROTOCOL_AWARD,
          { type: 'award', jobId: key, txHash: awardTx },
          awardReplySchema,
          {
            ...(signal ? { signal } : {}),
          },
        )
        .catch((err: unknown) => ({
          type: 'award-reply' as const,
          accepted: false,
          reason: describeError(err),
        }))
      if (!ack.accepted)
        this.c.logger.warn({ jobId: key, reason: ack.reason }, 'provider did not acknowledge award')
    }

    // Wait for the reveal; past the execution deadline the escrow comes back.
    let onChain = await chain.getJob(jobId)
    let committedSeen = false
    while (onChain.status === 'Awarded' || onChain.status === 'Committed') {
      if (onChain.status === 'Committed' && !committedSeen) {
        committedSeen = true
        emit({ type: 'committed', jobId })
      }
      // Block time, or this clock when later: on a quiet chain (automine, no traffic) block time
      // stands still, and the reclaim's own block carries the real time the contract checks.
      const now = bigMax(await chain.nowSeconds(), BigInt(Math.floor(Date.now() / 1000)))
      if (now > onChain.executionDeadline) {
        return {
          ...(await this.refund(
            ctx,
            emit,
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
        }
      }
      await sleep(this.init.pollIntervalMs, signal)
      onChain = await chain.getJob(jobId)
    }
    if (onChain.status === 'Expired' || onChain.status === 'Cancelled') {
      // Reclaimed by someone else (or by us before a restart): the escrow is back.
      return {
        ...(await this.refund(
          ctx,
          emit,
          'the job expired on-chain',
          new BaseError(ErrorCode.Timeout, `job ${key} expired before it was revealed`, {
            hint: 'the escrow was refunded; submit the job again',
          }),
        )),
        provider: winner.provider,
        pricePerFuel,
      }
    }
    // A reveal implies its commit, even when both landed between two polls.
    if (!committedSeen) emit({ type: 'committed', jobId })
    emit({ type: 'revealed', jobId, fuelUsed: onChain.fuelUsed })

    // Verify: the receipt must hash to what was revealed, and the output to what it names.
    let receipt: ResultReceipt | undefined
    let output: Uint8Array | undefined
    let verifyError: BaseError | undefined
    try {
      // A provider that restarts, or a link that drops, mid-transfer is tried again until the
      // challenge window ends (the provider keeps what it revealed); a wrong byte (CID
      // mismatch) is never retried. Past the window the provider may finalize by itself.
      const windowEndsMs = Number(onChain.revealedAt + (await chain.challengeWindow())) * 1000
      const fetchResult = (cid: string, options?: { maxBytes: number }) =>
        retryUntil(() => network.fetch(winner.providerPeerId, cid, options), {
          untilMs: Math.max(windowEndsMs, Date.now() + MIN_RESULT_RETRY_MS),
          ...(signal ? { signal } : {}),
          onRetry: (err, attempt) =>
            this.c.logger.info(
              { jobId: key, cid, attempt, err: describeError(err) },
              'result not fetched yet, trying again',
            ),
        })
      const receiptBytes = await fetchResult(bytes32ToCid(onChain.resultHash))
      receipt = decodeMessage(resultReceiptSchema, receiptBytes, 'result receipt')
      if (receipt.jobId !== key || BigInt(receipt.fuelUsed) !== onChain.fuelUsed) {
        throw new BaseError(ErrorCode.InvalidMessage, 'receipt does not match the revealed job or fuel')
      }
      if (receipt.status === 'ok') {
        output = await fetchResult(receipt.outputCid, {
          maxBytes: ctx.descriptor.limits.outputBytes,
        })
        // Kept by CID, so the result is still served after a restart.
        await store.putVerified(receipt.outputCid, output)
        emit({ type: 'verified', jobId, outputBytes: output.length })
      }
    } catch (err) {
      verifyError =
        err instanceof BaseError ? err : new BaseError(ErrorCode.Internal, describeError(err), { cause: err })
      this.c.logger.warn({ jobId: key, err: describeError(err) }, 'result could not be verified')
    }
    // A court verdict (audit, or a challenge of an optimistic job) settles the job instead of finalize.
    let audited: AuditOutcome | undefined
    if (auditInit && ctx.auditCaseId !== undefined) {
      audited = await settleAudit(auditInit, jobId, ctx.auditCaseId)
      emit({ type: 'audited', jobId, verdict: audited.verdict })
    } else if (ctx.descriptor.verification.mode === 'optimistic' && this.c.court) {
      audited = await this.awaitOptimistic(jobId, onChain.revealedAt, emit, signal)
    }
    if (audited) {
      ctx.gasUsed += audited.gasUsed
      emit({ type: 'finalized', jobId, paid: audited.paid, refunded: audited.refunded })
      if (audited.verdict === 'provider-wrong' || audited.verdict === 'undetermined') {
        const wrong = audited.verdict === 'provider-wrong'
        return {
          ...base,
          status: 'refunded',
          provider: winner.provider,
          pricePerFuel,
          fuelUsed: onChain.fuelUsed,
          paid: audited.paid,
          refunded: audited.refunded,
          gasUsed: ctx.gasUsed,
          bidsReceived: ctx.bidsReceived,
          error: new BaseError(
            wrong ? ErrorCode.VerificationFailed : ErrorCode.Undetermined,
            wrong
              ? `verification (${ctx.descriptor.verification.mode}) found job ${key}'s result wrong: provider ${winner.provider} was slashed`
              : `verification (${ctx.descriptor.verification.mode}) of job ${key} reached no verdict`,
            {
              hint: wrong
                ? 'nothing was paid and the escrow refunded; submit the job again'
                : 'no referee majority: nothing was paid and the escrow refunded; submit the job again',
            },
          ).toJSON(),
        }
      }
    }
    if (verifyError) {
      // Not finalized by us: the challenge window stays open for a dispute.
      return {
        ...base,
        status: 'unverified',
        provider: winner.provider,
        pricePerFuel,
        fuelUsed: onChain.fuelUsed,
        gasUsed: ctx.gasUsed,
        bidsReceived: ctx.bidsReceived,
        error: verifyError.toJSON(),
      }
    }
    let settled: { paid: bigint; refunded: bigint }
    if (audited) settled = audited
    else if (onChain.status === 'Finalized') {
      // Finalized before a restart (by us) or by anyone after the challenge window: never twice.
      // The requester paid fuel × price; the market's events hold the split, the total is this.
      const paid = onChain.fuelUsed * onChain.pricePerFuel
      settled = { paid, refunded: escrow - paid }
      emit({ type: 'finalized', jobId, ...settled })
    } else {
      const finalized = await chain.finalize(jobId).catch(async (err: unknown) => {
        // A challenge that landed at the very end of the window holds the job: its verdict settles it.
        if (!(err instanceof ChainError && err.errorName === 'JobMarket__OnHold')) throw err
        return undefined
      })
      if (finalized) {
        ctx.gasUsed += finalized.gasUsed
        settled = finalized
        emit({ type: 'finalized', jobId, paid: settled.paid, refunded: settled.refunded })
      } else {
        const verdict = await this.awaitOptimistic(jobId, onChain.revealedAt, emit, signal)
        if (!verdict)
          throw new BaseError(ErrorCode.Internal, `job ${key} is held but has no verification case`)
        ctx.gasUsed += verdict.gasUsed
        settled = verdict
        emit({ type: 'finalized', jobId, paid: settled.paid, refunded: settled.refunded })
        if (verdict.verdict !== 'verified') {
          return {
            ...base,
            status: 'refunded',
            provider: winner.provider,
            pricePerFuel,
            fuelUsed: onChain.fuelUsed,
            paid: verdict.paid,
            refunded: verdict.refunded,
            gasUsed: ctx.gasUsed,
            bidsReceived: ctx.bidsReceived,
            error: new BaseError(ErrorCode.VerificationFailed, `a challenge of job ${key} was upheld`, {
              hint: 'nothing was paid and the escrow refunded; submit the job again',
            }).toJSON(),
          }
        }
      }
    }
    return {
      ...base,
      status: receipt?.status === 'ok' ? 'completed' : 'failed',
      provider: winner.provider,
      pricePerFuel,
      fuelUsed: onChain.fuelUsed,
      paid: settled.paid,
      refunded: settled.refunded,
      gasUsed: ctx.gasUsed,
      bidsReceived: ctx.bidsReceived,
      ...(receipt ? { receipt } : {}),
      ...(output ? { output } : {}),
      ...(receipt?.status === 'error'
        ? { error: { code: receipt.errorCode, message: receipt.errorMessage } }
        : {}),
    }
  }
  /** Every provider we know of and why it is not on this job: bid excluded, declined, or by its offer. */
  /**
   * An optimistic job after its reveal: waits out the challenge window; a challenge is driven
   * to the referees' verdict (as an AuditOutcome: `verified` when the result was upheld).
   */
  private async awaitOptimistic(
    jobId: bigint,
    revealedAt: bigint,
    emit: (event: JobEvent) => void,
    signal: AbortSignal | undefined,
  ): Promise<AuditOutcome | undefined> {
    const court = this.c.court
    if (!court) return undefined
    const outcome = await awaitChallenges(
      { court, onEvent: emit, pollMs: this.init.pollIntervalMs, ...(signal ? { signal } : {}) },
      jobId,
      revealedAt,
    )
    if (!outcome) return undefined
    return { ...outcome, verdict: outcome.verdict === 'upheld' ? 'verified' : outcome.verdict }
  }

  /**
   * Reclaims a job whose provider missed its deadline. The chain's clock can trail this one by
   * a second or so (a devnet rounds its block times): while the contract still says
   * `JobMarket__NotExpired`, wait and try again, for a minute at most.
   */
  private async reclaim(jobId: bigint): Promise<bigint> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.c.chain.reclaimExpired(jobId)).gasUsed
      } catch (err) {
        if (!(err instanceof ChainError && err.errorName === 'JobMarket__NotExpired') || attempt >= 60)
          throw err
        await sleep(1_000)
      }
    }
  }

  private async noBidReasons(
    job: JobDescriptor,
    round: { auction: Auction; excluded: { provider: string; reasons: Exclusion[] }[] } | undefined,
  ): Promise<ProviderReason[]> {
    const out = new Map<string, ProviderReason>()
    for (const e of round?.excluded ?? []) out.set(e.provider.toLowerCase(), { ...e, source: 'bid' })
    for (const [provider, reason] of round?.auction.declines ?? []) {
      if (!out.has(provider)) out.set(provider, { provider, source: 'decline', reasons: [reason] })
    }
    const explanation = await this.explain(job)
    for (const e of explanation.excluded) {
      if (!out.has(e.provider.toLowerCase()))
        out.set(e.provider.toLowerCase(), { provider: e.provider, source: 'offer', reasons: e.reasons })
    }
    return [...out.values()]
  }

  private notify(peer: string, message: { type: 'bid-declined'; jobId: string }): void {
    this.c.network
      .request(peer, PROTOCOL_AWARD, message, awardReplySchema, { timeoutMs: 5_000 })
      .catch((err: unknown) => {
        this.c.logger.debug({ peer, err: describeError(err) }, 'could not tell a provider its bid lost')
      })
  }
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

/** However short the challenge window, a result fetch is tried for at least this long. */
const MIN_RESULT_RETRY_MS = 30_000
