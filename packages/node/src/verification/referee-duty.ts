import { ChainError, type CourtCase, type CourtDispute, resultCommitment } from '@bazaar/chain'
import { describeError, hashJobDescriptor, type JobAnnouncement } from '@bazaar/protocol'
import { type Address, type Hex, toHex } from 'viem'
import type { AnnouncementCache } from './announcement-cache.ts'
import { EventScan } from './event-scan.ts'
import { ContentUnavailableError } from './run-for-verdict.ts'
import type { VoucherDisputeJob } from './voucher-dispute-jobs.ts'

/** The court calls a referee makes (a `VerificationCourt` for this node's signer). */
export interface RefereeCourt {
  dutiesSince(referee: Address, fromBlock: bigint): Promise<{ disputeId: bigint; blockNumber: bigint }[]>
  getDispute(disputeId: bigint): Promise<CourtDispute>
  getCase(caseId: bigint): Promise<CourtCase>
  commitVerdict(disputeId: bigint, commitment: Hex): Promise<unknown>
  voteOf(disputeId: bigint, referee: Address): Promise<{ commitment: Hex; revealed: boolean }>
  revealVerdict(args: { disputeId: bigint; resultHash: Hex; fuel: bigint; salt: Hex }): Promise<unknown>
  resolveDispute(disputeId: bigint): Promise<unknown>
}

/** What a drawn referee went through, for logs, metrics and tests. */
export type RefereeEvent =
  /** `jobId` is 0 for a voucher claim (no JobMarket job), which `claimId` names instead. */
  | { type: 'drawn'; disputeId: bigint; jobId: bigint; audit: boolean; claimId?: Hex }
  | { type: 'committed'; disputeId: bigint; resultHash: Hex; fuelUsed: bigint }
  | { type: 'revealed'; disputeId: bigint }
  | { type: 'resolved'; disputeId: bigint }
  | { type: 'skipped'; disputeId: bigint; reason: string }

const ZERO_HASH = `0x${'0'.repeat(64)}`

/** Where duties are kept across restarts (the node's SQLite store): the salt before its commit. */
export interface RefereeDutyStore {
  save(duty: {
    disputeId: bigint
    jobId?: bigint
    phase: 'committing' | 'committed' | 'revealed' | 'done'
    resultHash?: Hex
    fuelUsed?: bigint
    salt?: Hex
  }): void
  get(disputeId: bigint): { phase: string; resultHash?: Hex; fuelUsed?: bigint; salt?: Hex } | undefined
  open(): { disputeId: bigint }[]
}

export interface RefereeDutyInit {
  court: RefereeCourt
  /** This node's signer: the referee the court draws. */
  me: Address
  announcements: AnnouncementCache
  /** The spec hash the market recorded for a job (a gossiped announcement must match it). */
  specHashOf(jobId: bigint): Promise<Hex>
  /** Re-executes the announced job exactly as a provider would; its receipt's hash and fuel. */
  reexecute(
    announcement: JobAnnouncement,
    signal: AbortSignal,
  ): Promise<{ resultHash: Hex; fuelUsed: bigint }>
  /** The latest block, where the first scan for duties starts. */
  blockNumber(): Promise<bigint>
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }
  /** How often to look for new duties and for the next step of open ones (default 500 ms). */
  pollMs?: number
  onEvent?(event: RefereeEvent): void
  /** Persistence: without it duties live in memory and a restart mid-duty misses the reveal. */
  duties?: RefereeDutyStore
  /** Disputed VoucherVault claims (VoucherClaim cases); without it this node skips them. */
  voucherClaims?: VoucherClaimSource
}

/** Where a referee finds a disputed voucher claim and its job, and how it re-executes it. */
export interface VoucherClaimSource {
  /** The claim as the vault records it: the awarded job's id, spec hash and fuel limit. */
  claimOf(claimId: Hex): Promise<{ jobId: bigint; specHash: Hex; maxFuel: bigint }>
  /** Candidate jobs sent for the claim (untrusted: checked against `claimOf`). */
  jobsOf(claimId: Hex): readonly VoucherDisputeJob[]
  /** Re-executes the job as its provider should have; the receipt's hash and fuel. */
  reexecute(job: VoucherDisputeJob, signal: AbortSignal): Promise<{ resultHash: Hex; fuelUsed: bigint }>
}

/**
 * Referee and auditor duty of a provider node: when the VerificationCourt draws this node's
 * signer for a dispute or an audit, it re-executes the job from its gossiped announcement,
 * commits to the result (bound to its own address, with a fresh salt), reveals once the court
 * lets it, and resolves the dispute when its deadline has passed, so it is paid without waiting
 * for anyone else. It acts only on jobs whose announcement matches the on-chain spec hash.
 */
export class RefereeDuty {
  readonly #init: RefereeDutyInit
  readonly #seen = new Set<bigint>()
  readonly #scan: EventScan<{ disputeId: bigint }>

  constructor(init: RefereeDutyInit) {
    this.#init = init
    this.#scan = new EventScan({
      blockNumber: init.blockNumber,
      fetch: (fromBlock) => init.court.dutiesSince(init.me, fromBlock),
      handle: ({ disputeId }) => this.#take(disputeId),
      logger: init.logger,
      what: 'referee duties',
      ...(init.pollMs ? { pollMs: init.pollMs } : {}),
    })
  }

  async start(): Promise<void> {
    await this.#scan.start()
    // Duties a previous run left open: continue them with their saved salts.
    for (const { disputeId } of this.#init.duties?.open() ?? []) this.#take(disputeId)
  }

  stop(): Promise<void> {
    return this.#scan.stop()
  }

  /** Duties being worked on now. */
  get active(): number {
    return this.#scan.active
  }

  #take(disputeId: bigint): void {
    if (this.#seen.has(disputeId)) return
    this.#seen.add(disputeId)
    this.#scan.run({ disputeId: disputeId.toString() }, 'referee duty failed', () => this.#serve(disputeId))
  }

  async #serve(disputeId: bigint): Promise<void> {
    const { court, duties } = this.#init
    const emit = (event: RefereeEvent) => this.#init.onEvent?.(event)
    const saved = duties?.get(disputeId)
    const dispute = await court.getDispute(disputeId)
    if (dispute.resolved) {
      duties?.save({ disputeId, phase: 'done' })
      return
    }
    const verdictCase = await court.getCase(dispute.caseId)
    const voucherClaim = verdictCase.kind === 'VoucherClaim'
    const jobId = voucherClaim ? 0n : verdictCase.jobIds[0]
    if (jobId === undefined) return
    emit({
      type: 'drawn',
      disputeId,
      jobId,
      audit: dispute.audit,
      ...(voucherClaim ? { claimId: verdictCase.claimId } : {}),
    })
    let resultHash: Hex
    let fuelUsed: bigint
    let salt: Hex
    if (saved?.salt && saved.resultHash && saved.fuelUsed !== undefined) {
      // Resumed after a restart: the answer and its salt were saved before the commit was sent.
      resultHash = saved.resultHash
      fuelUsed = saved.fuelUsed
      salt = saved.salt
    } else {
      const answer = voucherClaim
        ? await this.#reexecuteVoucherClaim(disputeId, verdictCase.claimId, dispute.commitDeadline)
        : await this.#reexecuteJob(disputeId, jobId, dispute.commitDeadline)
      if (!answer) return
      ;({ resultHash, fuelUsed } = answer)
      salt = toHex(crypto.getRandomValues(new Uint8Array(32)))
      // Written before the commit that uses it: a restart can still reveal.
      duties?.save({
        disputeId,
        ...(voucherClaim ? {} : { jobId }),
        phase: 'committing',
        resultHash,
        fuelUsed,
        salt,
      })
    }
    if ((await court.voteOf(disputeId, this.#init.me)).commitment === ZERO_HASH) {
      await court.commitVerdict(
        disputeId,
        resultCommitment({ resultHash, fuelUsed, salt, provider: this.#init.me }),
      )
    }
    duties?.save({ disputeId, phase: 'committed' })
    emit({ type: 'committed', disputeId, resultHash, fuelUsed })
    // Reveals open once every referee committed or the commit window closed.
    if (!(await court.voteOf(disputeId, this.#init.me)).revealed) {
      await this.#retry(
        () => court.revealVerdict({ disputeId, resultHash, fuel: fuelUsed, salt }),
        'Court__TooEarly',
        dispute.commitDeadline,
      )
    }
    duties?.save({ disputeId, phase: 'revealed' })
    emit({ type: 'revealed', disputeId })
    // Resolution opens once every referee revealed or the reveal window closed; anyone may
    // resolve, and the first to do so settles the case.
    const resolved = await this.#retry(
      async () => {
        if ((await court.getDispute(disputeId)).resolved) return
        await court.resolveDispute(disputeId)
      },
      'Court__TooEarly',
      dispute.revealDeadline,
      'Court__AlreadyResolved',
    )
    duties?.save({ disputeId, phase: 'done' })
    if (resolved) emit({ type: 'resolved', disputeId })
  }

  /** Re-executes a JobMarket job from its gossiped announcement (undefined: skipped). */
  async #reexecuteJob(disputeId: bigint, jobId: bigint, commitDeadline: bigint) {
    const emit = (event: RefereeEvent) => this.#init.onEvent?.(event)
    const announcement = this.#init.announcements.get(jobId)
    if (!announcement) {
      emit({ type: 'skipped', disputeId, reason: 'the job announcement was never seen on gossip' })
      return undefined
    }
    if (hashJobDescriptor(announcement.job) !== (await this.#init.specHashOf(jobId))) {
      emit({
        type: 'skipped',
        disputeId,
        reason: 'the announced job does not match its on-chain spec hash',
      })
      return undefined
    }
    this.#init.logger.info(
      { disputeId: disputeId.toString(), jobId: jobId.toString() },
      'drawn as referee: re-executing',
    )
    return this.#untilAvailable(disputeId, commitDeadline, async () => [
      await this.#init.reexecute(announcement, this.#scan.signal),
    ])
  }

  /**
   * Runs `attempt` until it yields an answer; while what the job names cannot be fetched
   * (`ContentUnavailableError`: the requester offline, a source naming dead peers) it tries again
   * until the commit window closes, then skips the duty: no vote rather than a vote on a failed
   * download. `attempt` returns no answer when none of its sources served the job.
   */
  async #untilAvailable(
    disputeId: bigint,
    commitDeadline: bigint,
    attempt: () => Promise<{ resultHash: Hex; fuelUsed: bigint }[]>,
  ): Promise<{ resultHash: Hex; fuelUsed: bigint } | undefined> {
    for (;;) {
      try {
        const [answer] = await attempt()
        if (answer) return answer
      } catch (err) {
        if (!(err instanceof ContentUnavailableError)) throw err
        this.#init.logger.info(
          { disputeId: disputeId.toString(), err: describeError(err) },
          'job content unavailable: trying again',
        )
      }
      if (this.#scan.signal.aborted) return undefined
      if (BigInt(Math.floor(Date.now() / 1000)) > commitDeadline) {
        this.#init.onEvent?.({
          type: 'skipped',
          disputeId,
          reason: "the job's module or inputs could not be fetched before the commit deadline",
        })
        return undefined
      }
      await new Promise((resolve) => setTimeout(resolve, (this.#init.pollMs ?? 500) * 4))
    }
  }

  /**
   * Re-executes the job of a disputed voucher claim. Voucher jobs are not gossiped: the requester
   * sends the job to the pool when it disputes, so this waits for a candidate (until the commit
   * window closes) and keeps only one with the claim's job id whose descriptor hashes to the
   * claim's spec hash under the claim's fuel limit (undefined: skipped).
   */
  async #reexecuteVoucherClaim(disputeId: bigint, claimId: Hex, commitDeadline: bigint) {
    const emit = (event: RefereeEvent) => this.#init.onEvent?.(event)
    const source = this.#init.voucherClaims
    if (!source) {
      emit({ type: 'skipped', disputeId, reason: 'this node does not serve voucher claims' })
      return undefined
    }
    const claim = await source.claimOf(claimId)
    // The award signed job id, spec hash and fuel limit: only the awarded job matches them all.
    const matches = (job: VoucherDisputeJob) =>
      BigInt(job.announcement.jobId) === claim.jobId &&
      hashJobDescriptor(job.announcement.job) === claim.specHash &&
      BigInt(job.announcement.job.limits.fuel) === claim.maxFuel
    let candidates = source.jobsOf(claimId).filter(matches)
    while (candidates.length === 0) {
      if (this.#scan.signal.aborted || BigInt(Math.floor(Date.now() / 1000)) > commitDeadline) {
        emit({
          type: 'skipped',
          disputeId,
          reason: 'no job matching the claim was received from its requester',
        })
        return undefined
      }
      await new Promise((resolve) => setTimeout(resolve, this.#init.pollMs ?? 500))
      candidates = source.jobsOf(claimId).filter(matches)
    }
    // Every candidate is the same job (the claim's hashes bind it); they differ only in where the
    // module and inputs are fetched from, which anyone relaying the job can name. So each is tried
    // in turn (candidates arriving later too): a copy naming dead or lying peers cannot stop the
    // referee from judging, nor make it vote on a failed download.
    return this.#untilAvailable(disputeId, commitDeadline, async () => {
      for (const job of source.jobsOf(claimId).filter(matches)) {
        this.#init.logger.info(
          { disputeId: disputeId.toString(), claimId, jobId: job.announcement.jobId },
          'drawn as referee of a voucher claim: re-executing',
        )
        try {
          return [await source.reexecute(job, this.#scan.signal)]
        } catch (err) {
          if (!(err instanceof ContentUnavailableError)) throw err
          this.#init.logger.info(
            { disputeId: disputeId.toString(), err: describeError(err) },
            'could not fetch the job through this copy: trying the next',
          )
        }
      }
      return []
    })
  }

  /**
   * Runs `step` until it stops failing with `waitError`, polling; gives up (false) when the
   * court says the step is over (`doneError`) or well past `deadline` (unix seconds).
   */
  async #retry(step: () => Promise<unknown>, waitError: string, deadline: bigint, doneError?: string) {
    const pollMs = this.#init.pollMs ?? 500
    for (;;) {
      try {
        await step()
        return true
      } catch (err) {
        const name = err instanceof ChainError ? err.errorName : undefined
        if (doneError && name === doneError) return false
        if (name !== waitError) throw err
        // Block time may lag this clock; a step tried well past its deadline has no reason left to wait.
        if (BigInt(Math.floor(Date.now() / 1000)) > deadline + 3_600n) throw err
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs))
      if (this.#scan.signal.aborted) return false
    }
  }
}
