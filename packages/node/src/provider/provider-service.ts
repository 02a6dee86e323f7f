import { randomBytes } from 'node:crypto'
import type { JobRecord } from '@bazaar/chain'
import {
  CapacityLedger,
  describeQuote,
  type PriceIndexSnapshot,
  type PriceQuote,
  type ProviderCapacity,
  type ProviderPricing,
} from '@bazaar/market'
import {
  type AwardNotice,
  type BidMessageWire,
  bidReplySchema,
  cidToBytes32,
  describeError,
  encodeReceipt,
  hashJobDescriptor,
  isVoucherJobId,
  type JobAnnouncement,
  type OfferMessage,
  offerToWire,
  PROTOCOL_BID,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type Address, bytesToHex, type Hex, zeroHash } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import { INPUT_FETCH_RETRY_MS, retryUntil } from '../retry-until.ts'
import { sleep } from '../sleep.ts'
import type { NodeStore } from '../store/node-store.ts'
import type { StoredProviderJob } from '../store/provider-job-repo.ts'
import { type BlobRetentionInit, startBlobRetention } from './blob-retention.ts'
import { runJob } from './job-runner.ts'
import { startPaymentCollector } from './payment-collector.ts'
import { ProviderJobRecords } from './provider-job-records.ts'

/** The subset of the executor the provider needs. */
export interface WasmRunner {
  run(
    job: {
      module: Uint8Array
      moduleKey?: string
      args: string[]
      env: Record<string, string>
      inputs: { path: string; bytes: Uint8Array }[]
      limits: { fuel: bigint; memoryMb: number; timeoutMs: number; outputBytes: number }
      seed?: string
    },
    opts?: { signal?: AbortSignal },
  ): Promise<{ stdout: Uint8Array; exitCode: number; fuelUsed: bigint }>
}

export interface ProviderInit {
  capacity: ProviderCapacity
  pricing: ProviderPricing
  /** How long a bid stays awardable after the bidding window closes. */
  bidValiditySeconds?: number
  /** How long a published offer stays valid; it is republished at half that (default 60 s). */
  offerLifetimeSeconds?: number
  region?: string
  /**
   * TEST ONLY (the crash-recovery e2e; never set in production): waits this long between the
   * commit and the reveal, so a test can kill the node in that gap deterministically.
   */
  testPauseBeforeRevealMs?: number
  /**
   * How often revealed jobs are checked for payment, and finalized by this provider when the
   * requester left them unsettled past the challenge window and `collectGraceSeconds`
   * (payment-collector.ts; defaults 30 s and 60 s).
   */
  collectIntervalMs?: number
  collectGraceSeconds?: bigint
}

export interface ProviderComponents {
  chain: MarketChain
  network: NetworkServices
  store: ContentStore
  runner: WasmRunner
  logger: Logger
  /** Signs an offer (EIP-712, market domain) with the provider's key. */
  signOffer: (offer: OfferMessage) => Promise<Hex>
  /** This provider's current stake, advertised in offers (requesters check it on-chain). */
  readStake: () => Promise<bigint>
  /**
   * The market's recent clearing prices (the node's chain-fed index), read at every bid: with
   * `pricing.spot` set the ask follows the class's median. Utilization comes from the ledger.
   */
  prices?: () => PriceIndexSnapshot | undefined
  /**
   * Persistent state (docs/reliability.md): every phase change is written before it is acted
   * on, and `resume()` finishes what a killed node left. Without it the provider forgets on exit.
   */
  db?: Pick<NodeStore, 'providerJobs' | 'peers' | 'transaction'>
}

/** The commitment a provider made (or is about to make) for a job, kept until it is revealed. */
interface Settlement {
  resultHash: Hex
  fuelUsed: bigint
  salt: Hex
  commitment: Hex
}

/** Phases of a job this provider won and took up. */
const AWARDED_PHASES: readonly ProviderJobPhase[] = [
  'awarded',
  'running',
  'committed',
  'revealed',
  'finalized',
]

/** Phases a restarted provider still has work in. */
const UNFINISHED: readonly ProviderJobPhase[] = ['bid', 'awarded', 'running', 'committed']

export type ProviderJobPhase =
  | 'bid'
  | 'declined'
  | 'awarded'
  | 'running'
  | 'committed'
  | 'revealed'
  /** Finalized on-chain (by the requester, or by this provider's collector): paid. */
  | 'finalized'
  /** Revealed, then ended without a finalize (the court settled it, or it was reclaimed). */
  | 'closed'
  | 'failed'
  | 'lost'

export interface ProviderJobRecord {
  jobId: bigint
  phase: ProviderJobPhase
  pricePerFuel?: bigint
  /** How the bid's price was reached: floor, market median, utilization (see describeQuote). */
  quote?: PriceQuote
  reason?: string
  fuelUsed?: bigint
}

interface OpenBid {
  announcement: JobAnnouncement
  pricePerFuel: bigint
  releaseTimer: NodeJS.Timeout
  /** The signed bid as sent, kept to answer a re-announcement with the same promise. */
  message?: BidMessageWire
}

/** How often a replica held at the court's reveal barrier asks the chain whether it may reveal. */
const REVEAL_BARRIER_POLL_MS = 1_000

/**
 * The provider role: bid on announced jobs it can run, run what it is awarded, commit and
 * reveal the result, and serve the output. Capacity is held in a CapacityLedger from the
 * moment a bid is sent until the job ends or the bid is declined or expires, so it never
 * over-commits. Jobs it will not bid on get a decline with the reason, and it keeps a
 * signed offer of its capacity on gossip.
 */
export class ProviderService {
  /** Job records: jobs in play in memory, ended ones read from the database (bounded memory). */
  readonly jobs: ProviderJobRecords
  readonly ledger: CapacityLedger
  private readonly bids = new Map<string, OpenBid>()
  private offerTimer: NodeJS.Timeout | undefined
  private collector: { stop(): void } | undefined
  private retention: ReturnType<typeof startBlobRetention> | undefined
  /** Jobs whose award is being checked on-chain right now. */
  private readonly takingUp = new Set<string>()
  private republishTimer: NodeJS.Timeout | undefined
  private offerSequence = BigInt(Date.now())
  private readonly running = new Set<Promise<void>>()
  private readonly abort = new AbortController()
  private readonly init: ProviderInit
  private readonly c: ProviderComponents

  constructor(init: ProviderInit, components: ProviderComponents) {
    this.init = init
    this.c = components
    this.ledger = new CapacityLedger(init.capacity)
    this.jobs = new ProviderJobRecords({ repo: components.db?.providerJobs })
  }

  /**
   * Starts deleting the outputs and receipts of jobs settled on-chain longer than the retention
   * period ago (blob-retention.ts), every `intervalMs` (default 10 min).
   */
  startBlobRetention(init: Omit<BlobRetentionInit, 'logger'> & { intervalMs?: number }): void {
    this.retention ??= startBlobRetention({ logger: this.c.logger, intervalMs: 600_000, ...init })
  }

  /** Blobs (and their bytes) the retention sweep deleted since start. */
  get blobsDeleted(): { blobs: number; bytes: number } {
    return { ...(this.retention?.deleted ?? { blobs: 0, bytes: 0 }) }
  }

  /** Starts checking revealed jobs for payment, finalizing those a vanished requester left. */
  startCollecting(): void {
    this.collector ??= startPaymentCollector({
      chain: this.c.chain,
      logger: this.c.logger,
      intervalMs: this.init.collectIntervalMs ?? 30_000,
      ...(this.init.collectGraceSeconds !== undefined ? { graceSeconds: this.init.collectGraceSeconds } : {}),
      // Voucher jobs are paid through the vault, not by a JobMarket finalize.
      revealed: () =>
        [...this.jobs.values()]
          .filter((j) => j.phase === 'revealed' && !isVoucherJobId(j.jobId.toString()))
          .map((j) => j.jobId),
      onCollected: (job) =>
        job.outcome === 'closed'
          ? this.record(job.jobId.toString(), { phase: 'closed', reason: `on-chain: ${job.status}` })
          : this.record(job.jobId.toString(), { phase: 'finalized' }),
    })
  }

  /** Starts publishing offers (now, then at half their lifetime). */
  startOffers(): void {
    const lifetime = this.init.offerLifetimeSeconds ?? 60
    void this.publishOfferLogged()
    this.offerTimer = setInterval(() => this.publishOfferLogged(), (lifetime * 1000) / 2)
    this.offerTimer.unref()
  }

  /** A new peer listens for offers: republish shortly (debounced, so a crowd costs one message). */
  republishOfferSoon(): void {
    if (this.offerTimer === undefined || this.republishTimer !== undefined) return
    this.republishTimer = setTimeout(() => {
      this.republishTimer = undefined
      void this.publishOfferLogged()
    }, 500)
    this.republishTimer.unref()
  }

  private publishOfferLogged(): Promise<void> {
    return this.publishOffer(this.init.offerLifetimeSeconds ?? 60).catch((err: unknown) =>
      this.c.logger.warn({ err: describeError(err) }, 'could not publish offer'),
    )
  }

  /** The offer this provider stands behind now, signed. */
  async currentOffer(
    lifetimeSeconds = this.init.offerLifetimeSeconds ?? 60,
  ): Promise<OfferMessage & { signature: Hex }> {
    const now = BigInt(Math.floor(Date.now() / 1000))
    const { capacity, pricing } = this.init
    const offer: OfferMessage = {
      provider: this.address,
      peerId: this.c.network.peerId,
      cores: capacity.cores,
      memoryMb: capacity.memoryMb,
      gpus: capacity.gpus ?? [],
      runtimes: capacity.runtimes,
      floorPricePerFuel: pricing.floorPerFuel,
      stake: await this.c.readStake(),
      region: this.init.region ?? '',
      attributes: [],
      issuedAt: now,
      expiry: now + BigInt(lifetimeSeconds),
      sequence: this.offerSequence++,
    }
    return { ...offer, signature: await this.c.signOffer(offer) }
  }

  private async publishOffer(lifetimeSeconds: number): Promise<void> {
    const offer = await this.currentOffer(lifetimeSeconds)
    await this.c.network.publishOffer(offerToWire(offer, this.c.chain.chainId, this.c.chain.market))
  }

  get address(): Address {
    return this.c.chain.address
  }

  /** Called for every valid job announcement heard on gossip. */
  async onAnnouncement(announcement: JobAnnouncement): Promise<void> {
    const key = announcement.jobId
    if (
      announcement.chainId !== this.c.chain.chainId ||
      announcement.market.toLowerCase() !== this.c.chain.market.toLowerCase()
    ) {
      return // another market; not ours to judge
    }
    const held = this.bids.get(key)
    if (held?.message && this.jobs.get(key)?.phase === 'bid') {
      // Re-announced while our bid is still open: the requester did not take it in time, or
      // lost it. Stand by the same signed bid rather than staying silent.
      this.sendBid(announcement, held.message).catch((err: unknown) =>
        this.c.logger.debug({ err: describeError(err) }, 'bid resend failed'),
      )
      return
    }
    if (this.ledger.get(key)) return // a job we hold: awarded and running
    if (Date.now() > announcement.bidDeadline) {
      this.record(key, { phase: 'declined', reason: 'announcement arrived after its bidding window' })
      this.sendDecline(
        announcement,
        'window-closed',
        'the announcement reached this provider after its bidding window',
      )
      return
    }
    if (hashJobDescriptor(announcement.job) !== announcement.specHash) {
      this.record(key, { phase: 'declined', reason: 'announced spec does not match its hash' })
      return
    }
    const job = announcement.job
    // Decides and reserves in one synchronous step: no await in between for a concurrent
    // announcement to take the same core.
    const decision = this.ledger.bid(
      key,
      {
        runtime: job.runtime,
        cores: job.resources.cores,
        memoryMb: job.resources.memoryMb,
        maxPricePerFuel: BigInt(job.maxPricePerFuel),
      },
      this.init.pricing,
      { prices: this.c.prices?.() },
    )
    if (!decision.bid) {
      this.record(key, { phase: 'declined', reason: `${decision.reason}: ${decision.detail}` })
      this.c.logger.debug({ jobId: key, reason: decision.reason }, 'declined job')
      this.sendDecline(announcement, decision.reason, decision.detail)
      return
    }
    const validity = BigInt(this.init.bidValiditySeconds ?? 120)
    const windowLeft = BigInt(Math.max(0, Math.ceil((announcement.bidDeadline - Date.now()) / 1000)))
    const openBid: OpenBid = {
      announcement,
      pricePerFuel: decision.pricePerFuel,
      // Released if the requester neither awards nor declines before the bid expires.
      releaseTimer: setTimeout(
        () => this.release(key, 'bid expired'),
        Number((windowLeft + validity) * 1000n) + 5_000,
      ),
    }
    openBid.releaseTimer.unref()
    this.bids.set(key, openBid)
    this.record(
      key,
      { phase: 'bid', pricePerFuel: decision.pricePerFuel, quote: decision.quote },
      { announcement },
    )
    this.c.logger.debug(
      { jobId: key, pricePerFuel: decision.pricePerFuel.toString(), pricing: describeQuote(decision.quote) },
      'bidding',
    )
    let sent = false
    try {
      const jobId = BigInt(key)
      await this.c.network.rememberPeer(announcement.requesterPeerId, announcement.requesterAddrs)
      // Expiry is checked on-chain against block time, so it is set from block time.
      const expiry = (await this.c.chain.nowSeconds()) + windowLeft + validity
      const signature = await this.c.chain.signBid({ jobId, pricePerFuel: decision.pricePerFuel, expiry })
      const message: BidMessageWire = {
        type: 'bid',
        jobId: key,
        provider: this.address,
        providerPeerId: this.c.network.peerId,
        pricePerFuel: decision.pricePerFuel.toString(),
        expiry: expiry.toString(),
        signature,
      }
      openBid.message = message
      // Written before it is sent: a bid the requester may award is a promise this node keeps
      // even after a restart.
      this.c.db?.providerJobs.save({ jobId, phase: 'bid', bidMessage: message })
      this.c.db?.peers.remember(announcement.requesterPeerId, announcement.requesterAddrs)
      sent = true
      const reply = await this.sendBid(announcement, message)
      if (!reply.accepted) this.release(key, `bid refused: ${reply.reason ?? 'no reason given'}`)
    } catch (err) {
      // A bid whose answer was lost (a dropped connection) may have reached the requester, who
      // may award it: it stands until it expires or the chain shows who won (onChainAward).
      if (sent) this.c.logger.info({ jobId: key, err: describeError(err) }, 'bid answer lost; the bid stands')
      else this.release(key, `bid not sent: ${describeError(err)}`)
    }
  }

  /**
   * An award seen on-chain (the node's award scan). To this provider: the same as the
   * requester's notice, which may never arrive (a dropped connection, a requester that died right
   * after its award); without this an honest provider would sit on a job it won and be slashed
   * for it. To another provider: our bid lost, its capacity is released.
   */
  onChainAward(award: { jobId: bigint; provider: Address }): void {
    const key = award.jobId.toString()
    if (this.jobs.get(key)?.phase !== 'bid') return
    if (award.provider.toLowerCase() !== this.address.toLowerCase()) {
      // Lost, even if the requester's decline never arrived: the capacity is free again.
      this.release(key, 'another bid won (seen on-chain)', 'lost')
      return
    }
    this.onAwardNotice({ type: 'award', jobId: key, txHash: zeroHash })
      .then((answer) => {
        if (answer.accepted) this.c.logger.info({ jobId: key }, 'award found on-chain (no notice received)')
      })
      .catch((err: unknown) =>
        this.c.logger.warn(
          { jobId: key, err: describeError(err) },
          'could not take up an award seen on-chain',
        ),
      )
  }

  /** Handles the requester's notice that we won (or lost) a job. Returns quickly; work runs after. */
  async onAwardNotice(notice: AwardNotice): Promise<{ accepted: boolean; reason?: string }> {
    const key = notice.jobId
    const openBid = this.bids.get(key)
    if (notice.type === 'bid-declined') {
      if (openBid && this.jobs.get(key)?.phase === 'bid') this.release(key, 'another bid won', 'lost')
      return { accepted: true }
    }
    const phase = this.jobs.get(key)?.phase
    // Already taken up from the chain scan (or an earlier notice): the notice is answered alike.
    if (phase && AWARDED_PHASES.includes(phase)) return { accepted: true }
    if (!openBid || phase !== 'bid') return { accepted: false, reason: 'no open bid for this job' }
    // The notice and the chain scan may both bring the award: one takes it up, never both.
    if (this.takingUp.has(key)) return { accepted: true }
    this.takingUp.add(key)
    const jobId = BigInt(key)
    let onChain: JobRecord
    try {
      onChain = await this.c.chain.getJob(jobId)
    } finally {
      this.takingUp.delete(key)
    }
    if (onChain.status !== 'Awarded' || onChain.provider.toLowerCase() !== this.address.toLowerCase()) {
      return { accepted: false, reason: 'the chain does not show this job awarded to us' }
    }
    if (onChain.specHash !== openBid.announcement.specHash) {
      return { accepted: false, reason: 'on-chain spec hash differs from the announced job' }
    }
    clearTimeout(openBid.releaseTimer)
    this.ledger.award(key)
    this.record(key, { phase: 'awarded', pricePerFuel: onChain.pricePerFuel })
    const work = this.execute(jobId, openBid.announcement).finally(() => {
      this.running.delete(work)
      this.bids.delete(key)
      this.ledger.release(key)
    })
    this.running.add(work)
    return { accepted: true }
  }

  private async execute(jobId: bigint, announcement: JobAnnouncement): Promise<void> {
    const key = jobId.toString()
    this.record(key, { phase: 'running' })
    // Fetches the job's files, runs it with the executor of its runtime, and turns every
    // outcome (including inputs that could not be fetched: fuel 0) into a receipt.
    const peer = announcement.requesterPeerId
    const signal = this.abort.signal
    const receipt = await runJob(this.c.runner, {
      jobId: key,
      job: announcement.job,
      // A dropped connection or a requester restarting mid-transfer costs a retry, not the job
      // (a job run without its inputs would be committed as failed, and paid nothing).
      fetch: (cid) =>
        retryUntil(() => this.c.network.fetch(peer, cid, { signal }), {
          untilMs: Date.now() + INPUT_FETCH_RETRY_MS,
          signal,
          onRetry: (err, attempt) =>
            this.c.logger.info(
              { jobId: key, cid, attempt, err: describeError(err) },
              'input not fetched yet, trying again',
            ),
        }),
      store: this.c.store,
      signal,
    })
    if (receipt.status === 'error' && receipt.fuelUsed === '0') {
      this.c.logger.warn({ jobId: key, err: receipt.errorMessage }, 'job not run')
    }
    try {
      // The receipt (and, inside runJob, the output) is stored before anything is committed to
      // it, so whatever is revealed can always be served.
      const receiptCid = await this.c.store.put(encodeReceipt(receipt))
      const resultHash = cidToBytes32(receiptCid)
      const fuelUsed = BigInt(receipt.fuelUsed)
      const salt = bytesToHex(randomBytes(32)) as Hex
      const commitment = this.c.chain.resultCommitment({ resultHash, fuelUsed, salt, provider: this.address })
      // The salt is saved before the commitment leaves this node: a node killed after the
      // commit can then still reveal it (a lost salt would be a slashed collateral).
      this.record(key, { phase: 'running', fuelUsed }, { salt, commitment, resultHash, receiptCid })
      await this.settle(jobId, { resultHash, fuelUsed, salt, commitment })
    } catch (err) {
      this.record(key, { phase: 'failed', reason: describeError(err) })
      this.c.logger.error({ jobId: key, err: describeError(err) }, 'could not settle job')
    }
  }

  /** Commits (unless the chain already has our commitment) and reveals, reading the chain first. */
  private async settle(jobId: bigint, s: Settlement): Promise<void> {
    const key = jobId.toString()
    let status = (await this.c.chain.getJob(jobId)).status
    if (status === 'Awarded') {
      await this.c.chain.commitResult(jobId, s.commitment)
      status = 'Committed'
    }
    if (status === 'Committed') {
      this.record(key, { phase: 'committed', fuelUsed: s.fuelUsed })
      const pause = this.init.testPauseBeforeRevealMs ?? 0
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause))
      // Stopping while held at the barrier: the stored 'committed' phase is revealed on restart.
      if (!(await this.revealOpened(jobId))) return
      await this.c.chain.revealResult({ jobId, resultHash: s.resultHash, fuelUsed: s.fuelUsed, salt: s.salt })
    }
    this.record(key, { phase: 'revealed', fuelUsed: s.fuelUsed })
  }

  /**
   * Waits until the chain lets this job be revealed; false if the node stops first. Only a
   * replica waits: the court bars every replica's reveal until all have committed (or missed
   * their commit deadline), so none can copy a revealed result, and it pushed our reveal
   * deadline past that point when we committed, so the wait costs no collateral.
   */
  private async revealOpened(jobId: bigint): Promise<boolean> {
    let logged = false
    while (!(await this.c.chain.revealOpen(jobId))) {
      if (!logged) {
        this.c.logger.info(
          { jobId: jobId.toString() },
          'waiting for the other replicas to commit before revealing',
        )
        logged = true
      }
      try {
        await sleep(REVEAL_BARRIER_POLL_MS, this.abort.signal)
      } catch {
        return false
      }
    }
    return true
  }

  /**
   * After a restart: finishes every job the stored state says is unfinished, judged against the
   * chain. Awarded with a saved commitment: commit it and reveal; awarded without one: run it
   * again while its commit deadline allows; committed: reveal with the saved salt while the
   * reveal deadline allows; revealed: nothing (outputs and receipts are served from the store);
   * a bid still open: kept, capacity reserved, so an award that comes is honoured.
   */
  async resume(): Promise<void> {
    const db = this.c.db
    if (!db) return
    // Ended jobs stay in the database (the API reads them there); revealed ones await payment.
    const all = db.providerJobs.inPhases(['revealed', ...UNFINISHED])
    for (const stored of all) {
      this.jobs.set(stored.jobId.toString(), {
        jobId: stored.jobId,
        phase: stored.phase as ProviderJobPhase,
        ...(stored.pricePerFuel !== undefined ? { pricePerFuel: stored.pricePerFuel } : {}),
        ...(stored.fuelUsed !== undefined ? { fuelUsed: stored.fuelUsed } : {}),
        ...(stored.reason !== undefined ? { reason: stored.reason } : {}),
      })
    }
    for (const stored of all.filter((j) => UNFINISHED.includes(j.phase as ProviderJobPhase))) {
      // Voucher jobs (docs/vouchers.md) are not on JobMarket: the voucher provider resumes its own.
      if (isVoucherJobId(stored.jobId)) {
        if (stored.phase === 'bid')
          this.record(stored.jobId.toString(), { phase: 'lost', reason: 'resume: voucher bid' })
        continue
      }
      await this.resumeJob(stored).catch((err: unknown) => {
        this.record(stored.jobId.toString(), { phase: 'failed', reason: `resume: ${describeError(err)}` })
        this.c.logger.error(
          { jobId: stored.jobId.toString(), err: describeError(err) },
          'could not resume job',
        )
      })
    }
  }

  private async resumeJob(stored: StoredProviderJob): Promise<void> {
    const key = stored.jobId.toString()
    const announcement = stored.announcement
    if (!announcement) {
      this.record(key, { phase: 'failed', reason: 'resume: the job announcement was not saved' })
      return
    }
    const peer = announcement.requesterPeerId
    const addrs = [
      ...new Set([...announcement.requesterAddrs, ...(this.c.db?.peers.multiaddrsOf(peer) ?? [])]),
    ]
    await this.c.network.rememberPeer(peer, addrs).catch(() => undefined)
    const onChain = await this.c.chain.getJob(stored.jobId)
    const ours = onChain.provider.toLowerCase() === this.address.toLowerCase()
    const need = { cores: announcement.job.resources.cores, memoryMb: announcement.job.resources.memoryMb }
    if (onChain.status === 'Open' && stored.phase === 'bid' && stored.bidMessage) {
      // Still awardable: stand by the bid until it expires.
      this.ledger.reserve(key, need)
      const expiresInMs = Number(BigInt(stored.bidMessage.expiry) - (await this.c.chain.nowSeconds())) * 1000
      const openBid: OpenBid = {
        announcement,
        pricePerFuel: BigInt(stored.bidMessage.pricePerFuel),
        message: stored.bidMessage,
        releaseTimer: setTimeout(() => this.release(key, 'bid expired'), Math.max(0, expiresInMs) + 5_000),
      }
      openBid.releaseTimer.unref()
      this.bids.set(key, openBid)
      this.record(key, { phase: 'bid' })
      this.c.logger.info({ jobId: key }, 'resumed: bid still open')
      return
    }
    if (!ours || !['Awarded', 'Committed', 'Revealed', 'Finalized'].includes(onChain.status)) {
      this.record(key, {
        phase: 'lost',
        reason: `resume: job is ${onChain.status} on-chain and not ours to run`,
      })
      return
    }
    if (onChain.status === 'Revealed' || onChain.status === 'Finalized') {
      this.record(key, { phase: 'revealed', fuelUsed: onChain.fuelUsed })
      return
    }
    const now = await this.c.chain.nowSeconds()
    if (now > onChain.deadline) {
      this.record(key, {
        phase: 'failed',
        reason: `resume: the ${onChain.status === 'Awarded' ? 'commit' : 'reveal'} deadline has passed`,
      })
      return
    }
    const { salt, commitment, resultHash, fuelUsed } = stored
    const saved =
      salt && commitment && resultHash && fuelUsed !== undefined && stored.receiptCid
        ? { salt, commitment, resultHash, fuelUsed }
        : undefined
    if (onChain.status === 'Committed' && (!saved || saved.commitment !== onChain.commitment)) {
      this.record(key, {
        phase: 'failed',
        reason: 'resume: committed on-chain but the saved salt does not match',
      })
      return
    }
    this.ledger.reserve(key, need)
    this.ledger.award(key)
    this.c.logger.info({ jobId: key, status: onChain.status, saved: saved !== undefined }, 'resuming job')
    const work = (saved ? this.settle(stored.jobId, saved) : this.execute(stored.jobId, announcement))
      .catch((err: unknown) => {
        this.record(key, { phase: 'failed', reason: describeError(err) })
        this.c.logger.error({ jobId: key, err: describeError(err) }, 'could not settle resumed job')
      })
      .finally(() => {
        this.running.delete(work)
        this.ledger.release(key)
      })
    this.running.add(work)
  }

  private sendBid(announcement: JobAnnouncement, message: BidMessageWire) {
    return this.c.network.request(announcement.requesterPeerId, PROTOCOL_BID, message, bidReplySchema, {
      signal: this.abort.signal,
    })
  }

  /** Tells the requester why we will not bid (advisory; a lost message only costs an explanation). */
  private sendDecline(announcement: JobAnnouncement, reason: string, detail: string): void {
    const { network } = this.c
    network
      .rememberPeer(announcement.requesterPeerId, announcement.requesterAddrs)
      .then(() =>
        network.request(
          announcement.requesterPeerId,
          PROTOCOL_BID,
          {
            type: 'bid-decline',
            jobId: announcement.jobId,
            provider: this.address,
            providerPeerId: this.c.network.peerId,
            reason,
            detail: detail.slice(0, 512),
          },
          bidReplySchema,
          { signal: this.abort.signal, timeoutMs: 5_000 },
        ),
      )
      .catch((err: unknown) => this.c.logger.debug({ err: describeError(err) }, 'decline not delivered'))
  }

  private release(key: string, reason: string, phase: ProviderJobPhase = 'declined'): void {
    const openBid = this.bids.get(key)
    if (!openBid) return
    const current = this.jobs.get(key)?.phase
    if (current !== 'bid') return // awarded work keeps its capacity until it ends
    clearTimeout(openBid.releaseTimer)
    this.bids.delete(key)
    this.ledger.release(key)
    this.record(key, { phase, reason })
  }

  /**
   * Updates a job's record, in memory and (when this node has a database) on disk, before the
   * caller acts on it. `saved` holds what only the database keeps (the salt must never show in
   * the API before the reveal). A first decline is not written: it leaves nothing to resume.
   */
  private record(
    key: string,
    update: Omit<ProviderJobRecord, 'jobId'>,
    saved: Omit<StoredProviderJob, 'jobId' | 'phase'> = {},
  ): void {
    const previous = this.jobs.get(key)
    const persist =
      this.c.db !== undefined &&
      (update.phase !== 'declined' || (previous !== undefined && previous.phase !== 'declined'))
    this.jobs.set(key, { ...previous, ...update, jobId: BigInt(key) }, persist)
    if (this.c.db && persist) {
      this.c.db.providerJobs.save({
        jobId: BigInt(key),
        phase: update.phase,
        ...(update.pricePerFuel !== undefined ? { pricePerFuel: update.pricePerFuel } : {}),
        ...(update.reason !== undefined ? { reason: update.reason } : {}),
        ...(update.fuelUsed !== undefined ? { fuelUsed: update.fuelUsed } : {}),
        ...saved,
      })
    }
  }

  // ---- voucher path hooks (docs/vouchers.md; the work itself is in vouchers/voucher-provider.ts) ----

  /** The open bid of a voucher job (announcement and price), while it is still only a bid. */
  openVoucherBid(key: string): { announcement: JobAnnouncement; pricePerFuel: bigint } | undefined {
    const openBid = this.bids.get(key)
    if (!openBid || !isVoucherJobId(key) || this.jobs.get(key)?.phase !== 'bid') return undefined
    return { announcement: openBid.announcement, pricePerFuel: openBid.pricePerFuel }
  }

  /** A signed voucher award was accepted: the bid's capacity is now held for the job. */
  startVoucherJob(key: string): void {
    const openBid = this.bids.get(key)
    if (!openBid) return
    clearTimeout(openBid.releaseTimer)
    this.ledger.award(key)
    this.record(key, { phase: 'awarded', pricePerFuel: openBid.pricePerFuel })
  }

  /** A voucher job ended (result delivered, or failed): its capacity is free again. */
  endVoucherJob(
    key: string,
    update: { phase: 'revealed' | 'failed'; fuelUsed?: bigint; reason?: string },
  ): void {
    this.bids.delete(key)
    this.ledger.release(key)
    this.record(key, update)
  }

  /** Stops bidding and waits for jobs in flight to settle. */
  async stop(): Promise<void> {
    this.abort.abort()
    clearInterval(this.offerTimer)
    this.collector?.stop()
    this.retention?.stop()
    clearTimeout(this.republishTimer)
    for (const bid of this.bids.values()) clearTimeout(bid.releaseTimer)
    await Promise.allSettled([...this.running])
  }
}
