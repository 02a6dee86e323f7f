import { randomBytes } from 'node:crypto'
import { decideBid, type ProviderCapacity, type ProviderPricing, type Reservations } from '@bazaar/market'
import {
  type AwardNotice,
  BaseError,
  bidReplySchema,
  cidToBytes32,
  describeError,
  encodeReceipt,
  hashJobDescriptor,
  type JobAnnouncement,
  PROTOCOL_BID,
  type ResultReceipt,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type Address, bytesToHex, type Hex } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'

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
}

export interface ProviderComponents {
  chain: MarketChain
  network: NetworkServices
  store: ContentStore
  runner: WasmRunner
  logger: Logger
}

export type ProviderJobPhase =
  | 'bid'
  | 'declined'
  | 'awarded'
  | 'running'
  | 'committed'
  | 'revealed'
  | 'failed'
  | 'lost'

export interface ProviderJobRecord {
  jobId: bigint
  phase: ProviderJobPhase
  pricePerFuel?: bigint
  reason?: string
  fuelUsed?: bigint
}

interface Reservation {
  cores: number
  memoryMb: number
  announcement: JobAnnouncement
  pricePerFuel: bigint
  releaseTimer: NodeJS.Timeout
}

/**
 * The provider role: bid on announced jobs it can run, run what it is awarded, commit and
 * reveal the result, and serve the output. Capacity is reserved from the moment a bid is
 * sent until the job ends or the bid is declined or expires, so it never over-commits.
 */
export class ProviderService {
  readonly jobs = new Map<string, ProviderJobRecord>()
  private readonly reservations = new Map<string, Reservation>()
  private readonly running = new Set<Promise<void>>()
  private readonly abort = new AbortController()
  private readonly init: ProviderInit
  private readonly c: ProviderComponents

  constructor(init: ProviderInit, components: ProviderComponents) {
    this.init = init
    this.c = components
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
    if (this.reservations.has(key) || this.jobs.get(key)?.phase === 'awarded') return // re-announcement of a job we hold
    if (Date.now() > announcement.bidDeadline) return
    if (hashJobDescriptor(announcement.job) !== announcement.specHash) {
      this.record(key, { phase: 'declined', reason: 'announced spec does not match its hash' })
      return
    }
    const job = announcement.job
    const decision = decideBid(
      {
        runtime: job.runtime,
        cores: job.resources.cores,
        memoryMb: job.resources.memoryMb,
        maxPricePerFuel: BigInt(job.maxPricePerFuel),
      },
      this.init.capacity,
      this.reserved(),
      this.init.pricing,
    )
    if (!decision.bid) {
      this.record(key, { phase: 'declined', reason: `${decision.reason}: ${decision.detail}` })
      this.c.logger.debug({ jobId: key, reason: decision.reason }, 'declined job')
      return
    }
    // Reserve before any await, so concurrent announcements cannot both take the last core.
    const validity = BigInt(this.init.bidValiditySeconds ?? 120)
    const windowLeft = BigInt(Math.max(0, Math.ceil((announcement.bidDeadline - Date.now()) / 1000)))
    const reservation: Reservation = {
      cores: job.resources.cores,
      memoryMb: job.resources.memoryMb,
      announcement,
      pricePerFuel: decision.pricePerFuel,
      // Released if the requester neither awards nor declines before the bid expires.
      releaseTimer: setTimeout(
        () => this.release(key, 'bid expired'),
        Number((windowLeft + validity) * 1000n) + 5_000,
      ),
    }
    reservation.releaseTimer.unref()
    this.reservations.set(key, reservation)
    this.record(key, { phase: 'bid', pricePerFuel: decision.pricePerFuel })
    try {
      const jobId = BigInt(key)
      // Expiry is checked on-chain against block time, so it is set from block time.
      const expiry = (await this.c.chain.nowSeconds()) + windowLeft + validity
      const signature = await this.c.chain.signBid({ jobId, pricePerFuel: decision.pricePerFuel, expiry })
      const reply = await this.c.network.request(
        announcement.requesterPeerId,
        PROTOCOL_BID,
        {
          type: 'bid',
          jobId: key,
          provider: this.address,
          providerPeerId: this.c.network.peerId,
          pricePerFuel: decision.pricePerFuel.toString(),
          expiry: expiry.toString(),
          signature,
        },
        bidReplySchema,
        { signal: this.abort.signal },
      )
      if (!reply.accepted) this.release(key, `bid refused: ${reply.reason ?? 'no reason given'}`)
    } catch (err) {
      this.release(key, `bid not delivered: ${describeError(err)}`)
    }
  }

  /** Handles the requester's notice that we won (or lost) a job. Returns quickly; work runs after. */
  async onAwardNotice(notice: AwardNotice): Promise<{ accepted: boolean; reason?: string }> {
    const key = notice.jobId
    const reservation = this.reservations.get(key)
    if (notice.type === 'bid-declined') {
      if (reservation && this.jobs.get(key)?.phase === 'bid') this.release(key, 'another bid won', 'lost')
      return { accepted: true }
    }
    if (!reservation) return { accepted: false, reason: 'no open bid for this job' }
    const jobId = BigInt(key)
    const onChain = await this.c.chain.getJob(jobId)
    if (onChain.status !== 'Awarded' || onChain.provider.toLowerCase() !== this.address.toLowerCase()) {
      return { accepted: false, reason: 'the chain does not show this job awarded to us' }
    }
    if (onChain.specHash !== reservation.announcement.specHash) {
      return { accepted: false, reason: 'on-chain spec hash differs from the announced job' }
    }
    clearTimeout(reservation.releaseTimer)
    this.record(key, { phase: 'awarded', pricePerFuel: onChain.pricePerFuel })
    const work = this.execute(jobId, reservation).finally(() => {
      this.running.delete(work)
      this.reservations.delete(key)
    })
    this.running.add(work)
    return { accepted: true }
  }

  private async execute(jobId: bigint, reservation: Reservation): Promise<void> {
    const key = jobId.toString()
    const { announcement } = reservation
    const job = announcement.job
    const fuelLimit = BigInt(job.limits.fuel)
    let receipt: ResultReceipt
    try {
      this.record(key, { phase: 'running' })
      const peer = announcement.requesterPeerId
      const signal = this.abort.signal
      const module = await this.c.network.fetch(peer, job.moduleCid, { signal })
      const inputs = []
      for (const input of job.inputs) {
        inputs.push({ path: input.path, bytes: await this.c.network.fetch(peer, input.cid, { signal }) })
      }
      receipt = await this.run(key, job, module, inputs, fuelLimit)
    } catch (err) {
      // Could not even start (requester unreachable or served bad bytes): bill nothing.
      this.c.logger.warn({ jobId: key, err: describeError(err) }, 'job inputs unavailable')
      receipt = {
        version: 1,
        jobId: key,
        status: 'error',
        errorCode: err instanceof BaseError ? err.code : 'E_INTERNAL',
        errorMessage: describeError(err).slice(0, 512),
        fuelUsed: '0',
      }
    }
    try {
      const receiptCid = await this.c.store.put(encodeReceipt(receipt))
      const resultHash = cidToBytes32(receiptCid)
      const fuelUsed = BigInt(receipt.fuelUsed)
      const salt = bytesToHex(randomBytes(32)) as Hex
      const commitment = this.c.chain.resultCommitment({ resultHash, fuelUsed, salt, provider: this.address })
      await this.c.chain.commitResult(jobId, commitment)
      this.record(key, { phase: 'committed', fuelUsed })
      await this.c.chain.revealResult({ jobId, resultHash, fuelUsed, salt })
      this.record(key, { phase: 'revealed', fuelUsed })
    } catch (err) {
      this.record(key, { phase: 'failed', reason: describeError(err) })
      this.c.logger.error({ jobId: key, err: describeError(err) }, 'could not settle job')
    }
  }

  private async run(
    key: string,
    job: JobAnnouncement['job'],
    module: Uint8Array,
    inputs: { path: string; bytes: Uint8Array }[],
    fuelLimit: bigint,
  ): Promise<ResultReceipt> {
    try {
      const result = await this.c.runner.run(
        {
          module,
          moduleKey: job.moduleCid,
          args: job.args,
          env: job.env,
          inputs,
          limits: {
            fuel: fuelLimit,
            memoryMb: job.resources.memoryMb,
            timeoutMs: job.limits.timeoutMs,
            outputBytes: job.limits.outputBytes,
          },
          seed: key,
        },
        { signal: this.abort.signal },
      )
      const outputCid = await this.c.store.put(result.stdout)
      return {
        version: 1,
        jobId: key,
        status: 'ok',
        exitCode: result.exitCode,
        outputCid,
        outputBytes: result.stdout.length,
        fuelUsed: result.fuelUsed.toString(),
      }
    } catch (err) {
      // A job that fails in the sandbox is still work done: out of fuel bills the whole
      // limit (the requester chose it); any other failure bills the fuel it reports.
      const code = err instanceof BaseError ? err.code : 'E_INTERNAL'
      const reported = err instanceof BaseError ? err.details.fuelUsed : undefined
      const fuelUsed =
        code === 'E_OUT_OF_FUEL'
          ? fuelLimit
          : typeof reported === 'string' || typeof reported === 'bigint'
            ? BigInt(reported)
            : 0n
      return {
        version: 1,
        jobId: key,
        status: 'error',
        errorCode: code,
        // Hints are fixed per error kind; engine messages are not, and receipts must be
        // identical across honest providers.
        errorMessage: (err instanceof BaseError ? (err.hint ?? err.name) : 'internal error').slice(0, 512),
        fuelUsed: (fuelUsed > fuelLimit ? fuelLimit : fuelUsed).toString(),
      }
    }
  }

  private reserved(): Reservations {
    let cores = 0
    let memoryMb = 0
    let awardedCores = 0
    for (const [key, r] of this.reservations) {
      cores += r.cores
      memoryMb += r.memoryMb
      if (this.jobs.get(key)?.phase !== 'bid') awardedCores += r.cores
    }
    return { cores, memoryMb, awardedCores }
  }

  private release(key: string, reason: string, phase: ProviderJobPhase = 'declined'): void {
    const reservation = this.reservations.get(key)
    if (!reservation) return
    const current = this.jobs.get(key)?.phase
    if (current !== 'bid') return // awarded work keeps its reservation until it ends
    clearTimeout(reservation.releaseTimer)
    this.reservations.delete(key)
    this.record(key, { phase, reason })
  }

  private record(key: string, update: Omit<ProviderJobRecord, 'jobId'>): void {
    const previous = this.jobs.get(key)
    this.jobs.set(key, { ...previous, ...update, jobId: BigInt(key) })
  }

  /** Stops bidding and waits for jobs in flight to settle. */
  async stop(): Promise<void> {
    this.abort.abort()
    for (const r of this.reservations.values()) clearTimeout(r.releaseTimer)
    await Promise.allSettled([...this.running])
  }
}
