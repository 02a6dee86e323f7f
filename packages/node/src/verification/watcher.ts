import { hashJobDescriptor, type JobAnnouncement } from '@bazaar/protocol'
import type { Address, Hex } from 'viem'
import type { AnnouncementCache } from './announcement-cache.ts'
import { type CaseCourt, driveCase } from './drive-case.ts'
import { EventScan } from './event-scan.ts'

/** The court calls a watcher makes (a `VerificationCourt` for this node's signer). */
export interface WatcherCourt extends CaseCourt {
  revealsSince(
    fromBlock: bigint,
  ): Promise<{ jobId: bigint; provider: Address; resultHash: Hex; fuelUsed: bigint; blockNumber: bigint }[]>
  challenge(jobId: bigint, resultHash: Hex, fuel: bigint): Promise<{ caseId: bigint }>
  /** Allows the court to take the challenge bond. */
  approve(amount: bigint): Promise<unknown>
  config(): Promise<{ challengeBond: bigint }>
}

type Reveal = { jobId: bigint; provider: Address; resultHash: Hex; fuelUsed: bigint; blockNumber: bigint }

export type WatcherEvent =
  | { type: 'checked'; jobId: bigint; agreed: boolean }
  | { type: 'challenged'; jobId: bigint; caseId: bigint }
  | { type: 'settled'; jobId: bigint; caseId: bigint }
  | { type: 'skipped'; jobId: bigint; reason: string }

export interface WatcherInit {
  court: WatcherCourt
  me: Address
  announcements: AnnouncementCache
  specHashOf(jobId: bigint): Promise<Hex>
  reexecute(
    announcement: JobAnnouncement,
    signal: AbortSignal,
  ): Promise<{ resultHash: Hex; fuelUsed: bigint }>
  blockNumber(): Promise<bigint>
  /** Chance of re-checking any one optimistic job (0..1): the q of docs/verification.md. */
  watchProbability: number
  /** Uniform in [0, 1); Math.random by default (tests pass their own). */
  random?: () => number
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }
  pollMs?: number
  onEvent?(event: WatcherEvent): void
}

/**
 * The optimistic mode's watcher on a provider node: for each result revealed on an optimistic
 * job (known from its gossiped announcement, checked against the on-chain spec hash), with
 * probability q it re-executes the job; when its own result differs it challenges within the
 * window, posting the bond, and drives the dispute to the referees' verdict. A successful
 * challenger earns part of the slashed collateral (docs/verification.md has the economics).
 */
export class Watcher {
  readonly #init: WatcherInit
  readonly #seen = new Set<bigint>()
  readonly #scan: EventScan<Reveal>

  constructor(init: WatcherInit) {
    this.#init = init
    this.#scan = new EventScan({
      blockNumber: init.blockNumber,
      fetch: (fromBlock) => init.court.revealsSince(fromBlock),
      handle: (reveal) => this.#consider(reveal),
      logger: init.logger,
      what: 'revealed results',
      ...(init.pollMs ? { pollMs: init.pollMs } : {}),
    })
  }

  start(): Promise<void> {
    return this.#scan.start()
  }

  stop(): Promise<void> {
    return this.#scan.stop()
  }

  /** A reveal on an optimistic job this node heard announced, by someone else: maybe re-check it. */
  #consider(reveal: Reveal): void {
    if (this.#seen.has(reveal.jobId)) return
    this.#seen.add(reveal.jobId)
    if (reveal.provider.toLowerCase() === this.#init.me.toLowerCase()) return
    const announcement = this.#init.announcements.get(reveal.jobId)
    if (announcement?.job.verification.mode !== 'optimistic') return
    if ((this.#init.random ?? Math.random)() >= this.#init.watchProbability) return
    this.#scan.run({ jobId: reveal.jobId.toString() }, 'watching a job failed', () =>
      this.#check(reveal, announcement),
    )
  }

  async #check(
    reveal: { jobId: bigint; resultHash: Hex; fuelUsed: bigint },
    announcement: JobAnnouncement,
  ): Promise<void> {
    const { court, logger } = this.#init
    const emit = (event: WatcherEvent) => this.#init.onEvent?.(event)
    const { jobId } = reveal
    if (hashJobDescriptor(announcement.job) !== (await this.#init.specHashOf(jobId))) {
      emit({ type: 'skipped', jobId, reason: 'the announced job does not match its on-chain spec hash' })
      return
    }
    const mine = await this.#init.reexecute(announcement, this.#scan.signal)
    const agreed = mine.resultHash === reveal.resultHash && mine.fuelUsed === reveal.fuelUsed
    emit({ type: 'checked', jobId, agreed })
    if (agreed) return
    logger.info({ jobId: jobId.toString() }, 'revealed result differs from a re-execution: challenging')
    await court.approve((await court.config()).challengeBond)
    const { caseId } = await court.challenge(jobId, mine.resultHash, mine.fuelUsed)
    emit({ type: 'challenged', jobId, caseId })
    await driveCase(court, jobId, caseId, {
      ...(this.#init.pollMs ? { pollMs: this.#init.pollMs } : {}),
      signal: this.#scan.signal,
    })
    emit({ type: 'settled', jobId, caseId })
  }
}
