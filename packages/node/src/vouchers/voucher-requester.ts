import { randomBytes } from 'node:crypto'
import type { ClaimFiledEvent, VerificationCourt, VoucherVault } from '@bazaar/chain'
import {
  awardReplySchema,
  awardToWire,
  BaseError,
  bytes32ToCid,
  decodeMessage,
  describeError,
  ErrorCode,
  type JobAnnouncement,
  PROTOCOL_AWARD,
  PROTOCOL_VOUCHER,
  type ResultReceipt,
  resultReceiptSchema,
  type VoucherAward,
  type VoucherReply,
  type VoucherResultMessage,
  type VoucherTerms,
  voucherJobId,
  voucherReplySchema,
  voucherToWire,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type Address, bytesToHex, type Hex, zeroHash } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { NetworkServices } from '../network-services.ts'
import type { JobEvent, JobEventListener } from '../requester/job-events.ts'
import type { PreparedJob } from '../requester/prepare-job.ts'
import {
  type JobOutcome,
  type PaymentPath,
  type RequesterService,
  RunInterruptedError,
} from '../requester/requester-service.ts'
import { sleep } from '../sleep.ts'
import type { RequesterJobRepo } from '../store/requester-job-repo.ts'
import type { VoucherChannelRecord, VoucherJobRecord, VoucherRepo } from '../store/voucher-repo.ts'
import { driveCase } from '../verification/drive-case.ts'
import { jobClosure } from './job-closure.ts'
import { extendJobsRoot, type VoucherJobLeaf } from './jobs-root.ts'
import { PairLocks } from './pair-locks.ts'
import { NoCourtError } from './voucher-error.ts'
import { type VoucherJobView, voucherJobView } from './voucher-job-view.ts'
import { pairKey } from './voucher-provider.ts'

export interface VoucherRequesterInit {
  /**
   * Tokens deposited into a provider's escrow when it does not cover a new job (at least the
   * shortfall), by EIP-2612 permit in the deposit's own transaction.
   */
  depositAmount: bigint
  /** Seconds after the result deadline the provider may still claim a job on-chain (default 1 day). */
  claimMarginSeconds?: bigint
  /** How often claims against this requester are checked (default 5 s). */
  pollMs?: number
  /**
   * Most blocks one claim-scan call reads (default 2 000): after a long outage the missed blocks
   * are read in chunks of this many, so no single log query spans them all.
   */
  scanChunkBlocks?: bigint
  /** TEST ONLY (the silent-requester e2e; never set in production): sign vouchers but never send them. */
  testWithholdVouchers?: boolean
  /**
   * TEST ONLY (the requester-restart e2e; never set in production): dispute a claim and record
   * the case, then neither send its job nor drive the case, as a node killed right after its
   * dispute transaction would.
   */
  testStopAfterDispute?: boolean
}

export interface VoucherRequesterComponents {
  requester: RequesterService
  vault: VoucherVault
  /**
   * The court that judges disputed claims (the vault's verifier): a wrong claim is disputed
   * there, with the court's challenge bond. Without it claims cannot be disputed at all.
   */
  court?: Pick<
    VerificationCourt,
    'disputeVoucherClaim' | 'getCase' | 'getDispute' | 'drawReferees' | 'resolveDispute'
  >
  network: NetworkServices
  store: ContentStore
  vouchers: VoucherRepo
  /**
   * The requester's stored jobs (the node's database): a job whose run ended unverified and that
   * was settled later through its claim has its stored end rewritten.
   */
  jobs?: Pick<RequesterJobRepo, 'get' | 'update'>
  transaction<T>(fn: () => T): T
  logger: Logger
}

/** The requester side's voucher figures (docs/vouchers.md, /metrics). */
export interface VoucherRequesterStats {
  /** Vouchers signed, over every provider (kept in the store: survives restarts). */
  vouchersSigned: number
  /** Σ of the latest cumulative voucher of every provider: everything ever vouchered (base units). */
  voucheredAmount: bigint
  /** Voucher jobs by phase (awarded, verified, vouchered, rejected). */
  jobs: Map<string, number>
  /** Claims filed against this requester seen since start, disputed, and seen paid. */
  claimsSeen: number
  claimsDisputed: number
  claimsPaid: number
  /** Gas spent on the voucher path since start (deposits, disputes). */
  gasUsed: bigint
}

/**
 * How many times a disputed claim's job is sent to the referee pool while its case is open: at
 * once, then after a pause that doubles from `pollMs` (8 rounds span 255 × pollMs, about 21 min at
 * the default 5 s), so a copy reaches the pool after a restart without flooding it for the case's
 * whole life. Direct pushes go only to providers that have not taken it yet.
 */
const DISPUTE_SEND_ROUNDS = 8

/** Pauses before each re-send of an award that got no answer (in the pair's lock). */
const AWARD_RESEND_PAUSES_MS = [250, 1_000, 3_000]

/** Where a result notice is awaited by the job that sent the award. */
interface Waiter {
  resolve(notice: VoucherResultMessage): void
}

/**
 * The requester's side of the voucher path (docs/vouchers.md): no escrow per job. The auction is
 * the requester's own (`RequesterService.runAuction`), announced to providers with an offer over
 * PROTOCOL_VOUCHER; the winner gets a signed Award with the pair's next sequence, after the escrow
 * for it was topped up if needed. The result (receipt by hash, output by CID) is verified as on the
 * per-job path, then the cumulative voucher is signed over every job verified in sequence and
 * sent. Sequence, awards and vouchers are written before they are sent, so a restart continues.
 */
export class VoucherRequester implements PaymentPath {
  private readonly init: Required<Omit<VoucherRequesterInit, 'testWithholdVouchers' | 'testStopAfterDispute'>>
  /** TEST ONLY (see VoucherRequesterInit): vouchers are signed and stored but not sent. */
  testWithholdVouchers: boolean
  /** TEST ONLY (see VoucherRequesterInit): disputes are opened and recorded, then left alone. */
  private readonly testStopAfterDispute: boolean
  private readonly c: VoucherRequesterComponents
  private readonly locks = new PairLocks()
  private readonly waiters = new Map<string, Waiter>()
  /** Gas this requester spent on the voucher path (deposits, disputes). */
  gasUsed = 0n
  /** Claims filed against this requester, and those it disputed. */
  readonly claims = { seen: 0, disputed: 0, paid: 0 }
  private timer: NodeJS.Timeout | undefined
  /**
   * Aborted by `stop`: jobs waiting for a result stop waiting and stay stored as awarded, and the
   * court cases this node drives stop being driven.
   */
  private readonly stopping = new AbortController()
  private watching: Promise<void> | undefined
  /** Court cases of disputed claims this node moves along (draw, resolve); aborted on stop. */
  private readonly cases = new Set<Promise<void>>()
  private scannedThrough: bigint | undefined
  /**
   * Chain time up to which every claim filed against this requester is on its job's record (the
   * claim scan read through it): the "now" of the CLOSED rule's claim deadline (job-closure.ts).
   * Unset until the first scan: until then only ended claims close a job.
   */
  private claimsKnownAt: bigint | undefined

  constructor(init: VoucherRequesterInit, components: VoucherRequesterComponents) {
    const { testWithholdVouchers, testStopAfterDispute, ...rest } = init
    this.init = { claimMarginSeconds: 24n * 3600n, pollMs: 5_000, scanChunkBlocks: 2_000n, ...rest }
    // A scan reads at least one block per call.
    this.init.scanChunkBlocks = bigMax(1n, this.init.scanChunkBlocks)
    this.testWithholdVouchers = testWithholdVouchers ?? false
    this.testStopAfterDispute = testStopAfterDispute ?? false
    this.c = components
  }

  get address(): Address {
    return this.c.vault.account
  }

  /**
   * Runs one job paid by voucher. No escrow per job: a wrong result is not vouchered. Emits
   * `created` first (with the voucher-job id), so the job is tracked and stored like any other.
   */
  async run(
    job: PreparedJob,
    options: { onEvent?: JobEventListener; signal?: AbortSignal } = {},
  ): Promise<JobOutcome> {
    const emit = (event: JobEvent) => options.onEvent?.({ ...event, at: Date.now() })
    const { requester, store } = this.c
    for (const [cid, bytes] of job.blobs) await store.putVerified(cid, bytes)
    const jobId = voucherJobId(this.address, bytesToHex(randomBytes(32)) as Hex)
    const key = jobId.toString()
    // Nothing is escrowed per job: the pair's vault escrow pays it.
    emit({ type: 'created', jobId, escrow: 0n })
    const payment = { kind: 'voucher' as const, vault: this.c.vault.address }
    const auctioned = await requester.runAuction(job, jobId, {
      emit,
      publish: (announcement) => this.publish({ type: 'voucher-job', payment, announcement }),
      ...(options.signal ? { signal: options.signal } : {}),
    })
    if (!auctioned.winner) throw auctioned.noBids
    const winner = auctioned.winner
    const pricePerFuel = BigInt(winner.pricePerFuel)
    const maxFuel = BigInt(job.descriptor.limits.fuel)
    const result = new Promise<VoucherResultMessage>((resolve) => this.waiters.set(key, { resolve }))
    const { award, gasUsed } = await this.award(
      job,
      key,
      winner.provider,
      winner.providerPeerId,
      pricePerFuel,
      maxFuel,
      options.signal,
    ).catch((err: unknown) => {
      this.waiters.delete(key)
      // An award with no answer may be held by the provider: its bid is not declined.
      if (err instanceof BaseError && (err.details as { ambiguous?: boolean } | undefined)?.ambiguous)
        throw err
      // The winner's bid holds capacity until it expires: release it now.
      this.c.network
        .request(
          winner.providerPeerId,
          PROTOCOL_AWARD,
          { type: 'bid-declined', jobId: key },
          awardReplySchema,
          {
            timeoutMs: 5_000,
          },
        )
        .catch(() => undefined)
      throw err
    })
    emit({
      type: 'awarded',
      jobId,
      provider: winner.provider,
      pricePerFuel,
      bids: auctioned.bidsReceived,
      sequence: award.sequence,
    })
    const base = {
      jobId,
      provider: winner.provider,
      pricePerFuel,
      escrow: 0n,
      refunded: 0n,
      bidsReceived: auctioned.bidsReceived,
    }
    return this.settle(key, award, result, {
      base,
      gasUsed,
      emit,
      ...(options.signal ? { signal: options.signal } : {}),
    })
  }

  /**
   * Continues a voucher job after a requester restart (docs/reliability.md), from its stored
   * award: an awarded job waits for its result notice (the provider retries it; otherwise its
   * claim comes, judged by `watchClaims`), a verified one ends as it was verified. A job the
   * restart caught in its auction was never awarded: nothing is owed, it ends with an error.
   */
  async resume(
    jobId: bigint,
    options: { onEvent?: JobEventListener; signal?: AbortSignal } = {},
  ): Promise<JobOutcome> {
    const emit = (event: JobEvent) => options.onEvent?.({ ...event, at: Date.now() })
    const key = jobId.toString()
    const stored = this.c.vouchers.jobById('requester', key)
    if (!stored) {
      throw new BaseError(
        ErrorCode.Aborted,
        `voucher job ${key} was interrupted by a requester restart before its award`,
        { hint: 'nothing was awarded or owed; submit the job again' },
      )
    }
    const base = {
      jobId,
      provider: stored.award.provider,
      pricePerFuel: stored.award.pricePerFuel,
      escrow: 0n,
      refunded: 0n,
      bidsReceived: 0,
    }
    if (stored.phase === 'awarded' && !this.waiters.has(key)) {
      const result = new Promise<VoucherResultMessage>((resolve) => this.waiters.set(key, { resolve }))
      return this.settle(key, stored.award, result, {
        base,
        gasUsed: 0n,
        emit,
        ...(options.signal ? { signal: options.signal } : {}),
      })
    }
    return this.outcomeOf(stored, base, 0n)
  }

  /** Waits for the result notice of an awarded job (until its result deadline), then verifies it. */
  private async settle(
    key: string,
    award: VoucherAward,
    result: Promise<VoucherResultMessage>,
    ctx: {
      base: Omit<JobOutcome, 'status' | 'fuelUsed' | 'paid' | 'gasUsed'>
      gasUsed: bigint
      emit: (event: JobEvent) => void
      signal?: AbortSignal
    },
  ): Promise<JobOutcome> {
    const { base, gasUsed, emit } = ctx
    // The provider tells us when the result is there; past the result deadline we stop waiting
    // (the award stays claimable by the provider until its claim deadline).
    const waitMs = Number(award.resultDeadline - (await this.c.vault.nowSeconds())) * 1000
    const stopWaiting = new AbortController()
    const signals = [stopWaiting.signal, this.stopping.signal, ...(ctx.signal ? [ctx.signal] : [])]
    const notice = await Promise.race([
      result,
      sleep(Math.max(1_000, waitMs), AbortSignal.any(signals)).then(
        () => undefined,
        () => undefined,
      ),
    ])
    stopWaiting.abort()
    this.waiters.delete(key)
    if (!notice && this.stopping.signal.aborted) {
      throw new RunInterruptedError(ErrorCode.Aborted, `the node stopped while voucher job ${key} ran`, {
        hint: 'it is resumed from its stored award at the next start',
      })
    }
    if (!notice) {
      // Verified meanwhile by another way (a notice handled before this wait, or a claim)?
      const now = this.c.vouchers.jobById('requester', key)
      if (now && (now.phase === 'verified' || now.phase === 'vouchered')) {
        return this.outcomeOf(now, base, gasUsed)
      }
      this.c.vouchers.updateJob('requester', key, {
        phase: 'rejected',
        reason: 'no result before the deadline',
      })
      return {
        ...base,
        status: 'unverified',
        fuelUsed: 0n,
        paid: 0n,
        gasUsed,
        error: new BaseError(
          ErrorCode.Timeout,
          `provider ${award.provider} did not deliver voucher job ${key}`,
          {
            hint: 'nothing was vouchered; submit the job again',
          },
        ).toJSON(),
      }
    }
    emit({ type: 'revealed', jobId: base.jobId, fuelUsed: BigInt(notice.fuelUsed) })
    const verified = await this.verify(key, notice, emit)
    if ('error' in verified) {
      return {
        ...base,
        status: 'unverified',
        fuelUsed: BigInt(notice.fuelUsed),
        paid: 0n,
        gasUsed,
        error: verified.error.toJSON(),
      }
    }
    const { receipt, output, amount } = verified
    emit({ type: 'finalized', jobId: base.jobId, paid: amount, refunded: 0n })
    return this.outcome(base, gasUsed, receipt, amount, output)
  }

  private outcome(
    base: Omit<JobOutcome, 'status' | 'fuelUsed' | 'paid' | 'gasUsed'>,
    gasUsed: bigint,
    receipt: ResultReceipt,
    amount: bigint,
    output: Uint8Array | undefined,
  ): JobOutcome {
    return {
      ...base,
      status: receipt.status === 'ok' ? 'completed' : 'failed',
      fuelUsed: BigInt(receipt.fuelUsed),
      paid: amount,
      gasUsed,
      receipt,
      ...(output ? { output } : {}),
      ...(receipt.status === 'error'
        ? { error: { code: receipt.errorCode, message: receipt.errorMessage } }
        : {}),
    }
  }

  /** The outcome of a stored job that already ended here: receipt and output from the content store. */
  private async outcomeOf(
    stored: VoucherJobRecord,
    base: Omit<JobOutcome, 'status' | 'fuelUsed' | 'paid' | 'gasUsed'>,
    gasUsed: bigint,
  ): Promise<JobOutcome> {
    const receiptBytes =
      stored.resultHash && (stored.phase === 'verified' || stored.phase === 'vouchered')
        ? await this.c.store.get(bytes32ToCid(stored.resultHash))
        : undefined
    if (!receiptBytes) {
      return {
        ...base,
        status: 'unverified',
        fuelUsed: stored.fuelUsed ?? 0n,
        paid: 0n,
        gasUsed,
        error: new BaseError(
          ErrorCode.Aborted,
          `voucher job ${stored.jobId}: ${stored.reason ?? 'not verified'}`,
          {
            hint: 'nothing was vouchered for it; a claim by the provider is judged when filed',
          },
        ).toJSON(),
      }
    }
    const receipt = decodeMessage(resultReceiptSchema, receiptBytes, 'result receipt')
    const output = receipt.status === 'ok' ? await this.c.store.get(receipt.outputCid) : undefined
    return this.outcome(base, gasUsed, receipt, stored.amount ?? 0n, output)
  }

  /** What the API shows of a voucher job's payment; undefined for a job this node never awarded. */
  describe(jobId: string): VoucherJobView | undefined {
    const record = this.c.vouchers.jobById('requester', jobId)
    return record ? voucherJobView(record, this.c.vault.address) : undefined
  }

  /** The requester's voucher figures for /metrics, from the store (exact) and since start (claims). */
  stats(): VoucherRequesterStats {
    let vouchersSigned = 0
    let voucheredAmount = 0n
    for (const channel of this.c.vouchers.channels('requester')) {
      if (channel.requester.toLowerCase() !== this.address.toLowerCase()) continue
      vouchersSigned += channel.vouchersSigned ?? (channel.latest ? 1 : 0)
      voucheredAmount += channel.latest?.voucher.cumulativeAmount ?? 0n
    }
    return {
      vouchersSigned,
      voucheredAmount,
      jobs: this.c.vouchers.phaseCounts('requester'),
      claimsSeen: this.claims.seen,
      claimsDisputed: this.claims.disputed,
      claimsPaid: this.claims.paid,
      gasUsed: this.gasUsed,
    }
  }

  /** The claim scan's cursor name: per vault and account, so another deployment starts afresh. */
  private get cursorName(): string {
    return `voucher-claims:${this.c.vault.address.toLowerCase()}:${this.address.toLowerCase()}`
  }

  /**
   * Starts watching claims filed against this requester: from where the previous run's scan
   * stopped (the cursor is in the store), so a claim filed while this node was down is judged
   * too; a node that never scanned starts at the head. Disputes a previous run opened and did
   * not see end are taken up again (job re-sent to the referees, case driven).
   */
  async start(): Promise<void> {
    const head = await this.c.vault.blockNumber()
    const saved = this.c.vouchers.scanCursor(this.cursorName)
    if (saved === undefined || saved > head) {
      // Past the head: another chain behind the same addresses (a devnet restarted). Start afresh.
      if (saved !== undefined) {
        this.c.logger.warn(
          { cursor: saved.toString(), head: head.toString() },
          'claim scan cursor is ahead of the chain: scanning from the head',
        )
      }
      this.c.vouchers.saveScanCursor(this.cursorName, head)
      this.scannedThrough = head
    } else {
      this.scannedThrough = saved
      if (saved < head) {
        this.c.logger.info(
          { from: (saved + 1n).toString(), to: head.toString() },
          'scanning blocks missed while down for claims',
        )
      }
    }
    this.resumeDisputes()
    this.timer = setInterval(() => void this.watchClaims(), this.init.pollMs)
    this.timer.unref()
    // Claim windows are short: what happened while down is read now, not a poll later.
    void this.watchClaims()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.stopping.abort()
    await Promise.allSettled([...this.cases])
    await this.watching
  }

  /**
   * Each claim a provider files against this requester is judged: one for a result this node
   * verified (same result hash) stands; otherwise the claimed result is fetched from the provider
   * and checked like a delivered one (receipt by hash naming this job, fuel × price = the claimed
   * amount, output by CID): if it holds, the job counts as verified (and is vouchered); if not, or
   * the award is unknown here, the claim is disputed within its window.
   */
  watchClaims(): Promise<void> {
    this.watching ??= this.watchOnce()
      .catch((err: unknown) => this.c.logger.warn({ err: describeError(err) }, 'claim watch failed'))
      .finally(() => {
        this.watching = undefined
      })
    return this.watching
  }

  /**
   * Reads the blocks after the cursor up to the head, at most `scanChunkBlocks` per log query,
   * judging each chunk's claims before the cursor moves past it: a restart (or a failed read)
   * reads the chunk again, and a claim already judged is recognised by its record.
   */
  private async watchOnce(): Promise<void> {
    // Read before the head: every claim filed by this chain time is in a block up to the head.
    const chainNow = await this.c.vault.nowSeconds()
    const head = await this.c.vault.blockNumber()
    let through = this.scannedThrough ?? head
    // Claims are filed and end only in transactions: nothing to read without a new block. The
    // clock may still have moved past a block this node read while an earlier pass ran (a quiet
    // chain mines nothing more): every claim filed by `chainNow` is known, so jobs whose claim
    // deadline it passed close now, not at some later block that may never come.
    if (head <= through) {
      if (chainNow > (this.claimsKnownAt ?? 0n)) {
        this.claimsKnownAt = chainNow
        await this.voucherClosedJobs()
      }
      return
    }
    while (through < head && !this.stopping.signal.aborted) {
      const to = bigMin(head, through + this.init.scanChunkBlocks)
      const claims = await this.c.vault.claimsFiledSince(through + 1n, to, this.address)
      for (const claim of claims) await this.judgeClaim(claim)
      this.c.vouchers.saveScanCursor(this.cursorName, to)
      this.scannedThrough = through = to
    }
    if (this.stopping.signal.aborted) return
    await this.followClaims()
    // Every claim filed by `chainNow` is on its job's record now: a job past its claim deadline
    // with none is closed, and so are jobs whose claim ended. Vouchers pass over them.
    this.claimsKnownAt = bigMax(this.claimsKnownAt ?? 0n, chainNow)
    await this.voucherClosedJobs()
  }

  /** Signs the next voucher of every pair whose run had stopped at a job that is closed now. */
  private async voucherClosedJobs(): Promise<void> {
    for (const channel of this.c.vouchers.channels('requester')) {
      if (channel.requester.toLowerCase() !== this.address.toLowerCase()) continue
      const through = channel.latest?.voucher.paidThroughSequence ?? 0n
      if (through >= channel.lastSequence) continue
      await this.sendVoucher(channel.provider).catch((err: unknown) =>
        this.c.logger.warn({ provider: channel.provider, err: describeError(err) }, 'voucher not sent'),
      )
    }
  }

  private async judgeClaim(claim: ClaimFiledEvent): Promise<void> {
    const job = this.c.vouchers.job('requester', this.address, claim.provider, claim.sequence)
    // Judged before (a chunk read again after a restart or a failed read): followed, not re-judged.
    if (job?.claim && job.claim.claimId.toLowerCase() === claim.claimId.toLowerCase()) return
    this.claims.seen++
    let disputed = false
    let holds = false
    if (
      job &&
      (job.phase === 'verified' || job.phase === 'vouchered') &&
      job.resultHash === claim.resultHash
    ) {
      this.c.logger.info({ claimId: claim.claimId }, 'claim for a verified result: not disputed')
    } else if (job && (await this.claimedResultHolds(job, claim))) {
      holds = true
    } else if ((await this.c.vault.claimOf(claim.claimId)).status !== 'Pending') {
      // Disputed already (by a previous run of this node, or by hand) or ended: nothing to open.
      this.c.logger.info({ claimId: claim.claimId }, 'claim no longer pending: not disputed again')
    } else {
      try {
        // In the court (it counts, logs, records the case, sends the job and drives the case).
        await this.disputeClaim(claim.claimId)
        disputed = true
      } catch (err) {
        this.c.logger.warn({ claimId: claim.claimId, err: describeError(err) }, 'could not dispute claim')
      }
    }
    if (!job) return
    // On the job's record and timeline (keeping a case `disputeClaim` recorded); its end is
    // followed by `followClaims`.
    const current = this.c.vouchers.jobById('requester', job.jobId)?.claim
    const same = current && current.claimId.toLowerCase() === claim.claimId.toLowerCase()
    this.c.vouchers.updateJob('requester', job.jobId, {
      claim: {
        ...(same ? current : {}),
        claimId: claim.claimId,
        amount: claim.amount,
        seenAt: same ? current.seenAt : Date.now(),
        disputed: disputed || (same ? current.disputed : false),
      },
    })
    this.c.requester.recordJobEvent({
      type: 'claim-filed',
      jobId: BigInt(job.jobId),
      claimId: claim.claimId,
      amount: claim.amount,
      disputed,
    })
    // Verified only now, through the claim: the job's stored end says so too.
    if (holds) await this.recordLateOutcome(job.jobId)
  }

  /** Claims on this node's jobs not yet ended: read from the vault, their end recorded when seen. */
  private async followClaims(): Promise<void> {
    for (const job of this.c.vouchers.jobsWithOpenClaims('requester')) {
      const claim = job.claim!
      const onChain = await this.c.vault.claimOf(claim.claimId)
      if (onChain.status !== 'Paid' && onChain.status !== 'Rejected') continue
      this.c.vouchers.updateJob('requester', job.jobId, {
        claim: { ...claim, status: onChain.status, endedAt: Date.now() },
        claimResult: { resultHash: onChain.resultHash, fuelUsed: onChain.fuelUsed },
      })
      if (onChain.status === 'Paid') this.claims.paid++
      this.c.requester.recordJobEvent({
        type: 'claim-finalized',
        jobId: BigInt(job.jobId),
        claimId: claim.claimId,
        status: onChain.status,
        amount: onChain.amount,
      })
      if (onChain.status !== 'Paid') continue
      // Paid: the claimed result stood (unchallenged, or upheld by referees). A job that ended
      // unverified is checked once more against it (the output is fetched if the provider serves
      // it); either way its stored end shows it paid.
      const fresh = this.c.vouchers.jobById('requester', job.jobId) ?? job
      if (fresh.phase !== 'verified' && fresh.phase !== 'vouchered') {
        await this.claimedResultHolds(fresh, { resultHash: onChain.resultHash, amount: onChain.amount })
      }
      await this.recordLateOutcome(job.jobId, { amount: onChain.amount, fuelUsed: onChain.fuelUsed })
    }
  }

  /**
   * Rewrites the stored end of a job whose run ended `unverified` (its result notice never came,
   * or did not verify) once it is settled another way: its result verified through the provider's
   * claim (then `completed` or `failed`, with receipt and output, as if verified in time), or its
   * claim was paid without this node holding the result (still `unverified`, with what the claim
   * paid). Then a `finalized` event tells the job tracker to read it back.
   */
  private async recordLateOutcome(
    jobId: string,
    paidByClaim?: { amount: bigint; fuelUsed: bigint },
  ): Promise<void> {
    const jobs = this.c.jobs
    const stored = jobs?.get(BigInt(jobId))
    const record = this.c.vouchers.jobById('requester', jobId)
    if (!jobs || !stored || !record || stored.step !== 'ended' || stored.state !== 'unverified') return
    const prior = (stored.outcome ?? {}) as Partial<JobOutcome>
    const base = {
      jobId: BigInt(jobId),
      provider: record.award.provider,
      pricePerFuel: record.award.pricePerFuel,
      escrow: 0n,
      refunded: 0n,
      bidsReceived: prior.bidsReceived ?? 0,
    }
    const verified = await this.outcomeOf(record, base, prior.gasUsed ?? 0n)
    if (verified.status === 'unverified' && !paidByClaim) return
    const outcome: JobOutcome =
      verified.status !== 'unverified'
        ? verified
        : {
            ...verified,
            fuelUsed: paidByClaim!.fuelUsed,
            paid: paidByClaim!.amount,
            error: new BaseError(
              ErrorCode.Aborted,
              `voucher job ${jobId}: paid by the provider's claim; the result was not verified here`,
              {
                hint: 'the claim stood (unchallenged, or upheld by referees); fetch the output from the provider',
              },
            ).toJSON(),
          }
    const { output, ...kept } = outcome
    jobs.update(BigInt(jobId), {
      state: outcome.status,
      outcome: kept,
      error: outcome.error ?? null,
    })
    if (output) {
      this.c.requester.recordJobEvent({ type: 'verified', jobId: BigInt(jobId), outputBytes: output.length })
    }
    this.c.requester.recordJobEvent({
      type: 'finalized',
      jobId: BigInt(jobId),
      paid: outcome.paid,
      refunded: 0n,
    })
    this.c.logger.info({ jobId, state: outcome.status }, 'voucher job settled after its run ended')
  }

  /**
   * Disputes a claim against this requester in the court (posting the court's challenge bond),
   * sends its job to the referee pool and moves the case along until referees settle it. Called
   * for every claim whose result does not verify; an operator may call it for any claim in its
   * window (an honest claim disputed anyway is paid and the bond lost: docs/vouchers.md). The
   * case is written on the job's record at once, so a restart takes the dispute up again.
   */
  async disputeClaim(claimId: Hex): Promise<{ caseId: bigint; disputeId: bigint }> {
    if (!this.c.court) {
      throw new NoCourtError()
    }
    const claim = await this.c.vault.claimOf(claimId)
    const disputed = await this.c.court.disputeVoucherClaim(claimId)
    this.gasUsed += disputed.gasUsed
    this.claims.disputed++
    const job = this.c.vouchers.job('requester', this.address, claim.provider, claim.sequence)
    if (job) {
      const same = job.claim && job.claim.claimId.toLowerCase() === claimId.toLowerCase()
      this.c.vouchers.updateJob('requester', job.jobId, {
        claim: {
          ...(same ? job.claim : {}),
          claimId,
          amount: claim.amount,
          seenAt: same ? job.claim!.seenAt : Date.now(),
          disputed: true,
          caseId: disputed.caseId,
          disputeId: disputed.disputeId,
        },
      })
    }
    this.c.logger.warn(
      {
        claimId,
        provider: claim.provider,
        sequence: claim.sequence.toString(),
        caseId: disputed.caseId.toString(),
      },
      'claim disputed in the court',
    )
    if (!this.testStopAfterDispute) this.pursueDispute(claimId, disputed.caseId, job)
    return { caseId: disputed.caseId, disputeId: disputed.disputeId }
  }

  /**
   * Disputes this node opened before a restart whose claim it has not seen end: the job goes to
   * the referees again and the case is driven again (both are idempotent: referees keep one copy
   * of a job, and a court step another party took first costs nothing).
   */
  private resumeDisputes(): void {
    if (this.testStopAfterDispute) return
    for (const job of this.c.vouchers.jobsWithOpenClaims('requester')) {
      const claim = job.claim!
      if (!claim.disputed || claim.caseId === undefined) continue
      this.c.logger.info(
        { claimId: claim.claimId, caseId: claim.caseId.toString() },
        'resuming a claim dispute opened before the restart',
      )
      this.pursueDispute(claim.claimId, claim.caseId, job)
    }
  }

  /**
   * Drives the case until it settles and, meanwhile, sends the job to the referee pool now and
   * again with a growing pause (DISPUTE_SEND_ROUNDS): the pool learns of it from the first copy;
   * later ones reach providers whose offers or gossip links this node had not yet when it sent,
   * e.g. just after a restart. Receivers keep one copy per distinct job.
   */
  private pursueDispute(claimId: Hex, caseId: bigint, job: VoucherJobRecord | undefined): void {
    const court = this.c.court
    if (!court) return
    const settled = new AbortController()
    const signal = AbortSignal.any([settled.signal, this.stopping.signal])
    const sending = job?.announcement
      ? (async () => {
          const delivered = new Set<string>()
          let pauseMs = this.init.pollMs
          for (let round = 0; round < DISPUTE_SEND_ROUNDS && !signal.aborted; round++) {
            await this.sendDisputedJob(claimId, job, delivered)
            await sleep(pauseMs, signal).catch(() => undefined)
            pauseMs *= 2
          }
        })()
      : Promise.resolve()
    const driving = driveCase(court, 0n, caseId, { pollMs: this.init.pollMs, signal: this.stopping.signal })
      .then((gas) => {
        this.gasUsed += gas
        this.c.logger.info({ claimId, caseId: caseId.toString() }, 'disputed claim judged')
      })
      .catch((err: unknown) => {
        if (!this.stopping.signal.aborted) {
          this.c.logger.warn({ claimId, err: describeError(err) }, 'could not drive the claim dispute')
        }
      })
      .finally(() => settled.abort())
    const both = Promise.allSettled([driving, sending]).then(() => undefined)
    this.cases.add(both)
    void both.finally(() => this.cases.delete(both))
  }

  /**
   * Sends `message` on the voucher protocol to every provider with a live offer (best effort),
   * except those in `delivered`, which gains the ones that accept it.
   */
  private async sendToLiveProviders(message: object, what: string, delivered?: Set<string>): Promise<void> {
    const now = BigInt(Math.floor(Date.now() / 1000))
    const peers = [...new Set(this.c.requester.offers.active(now).map((o) => o.peerId))].filter(
      (peer) => !delivered?.has(peer),
    )
    await Promise.all(
      peers.map((peer) =>
        this.c.network
          .request(peer, PROTOCOL_VOUCHER, message, voucherReplySchema, { timeoutMs: 5_000 })
          .then((reply) => {
            if (reply.accepted) delivered?.add(peer)
          })
          .catch((err: unknown) =>
            this.c.logger.debug({ peer, err: describeError(err) }, `${what} not delivered`),
          ),
      ),
    )
  }

  /**
   * Sends the disputed claim's job to the referee pool (the court draws its referees from
   * providers, never from the parties): directly to every provider with a live offer, and on the
   * voucher-dispute gossip topic, which reaches every provider in the gossip mesh whether or not
   * this node heard its offer. Referees check it against the claim's spec hash and fetch module
   * and inputs from this node (or the provider) by CID.
   */
  private async sendDisputedJob(claimId: Hex, job: VoucherJobRecord, delivered?: Set<string>): Promise<void> {
    if (!job.announcement) return
    const message = {
      type: 'voucher-dispute' as const,
      claimId,
      announcement: job.announcement,
      ...(job.peerId ? { providerPeerId: job.peerId } : {}),
    }
    await Promise.all([
      this.sendToLiveProviders(message, 'disputed job', delivered),
      this.c.network
        .publishVoucherDispute?.(message)
        .catch((err: unknown) =>
          this.c.logger.debug({ claimId, err: describeError(err) }, 'disputed job not gossiped'),
        ),
    ])
  }

  /** Fetches and checks a claimed result; a good one is recorded as verified and vouchered. */
  private async claimedResultHolds(
    job: VoucherJobRecord,
    claim: { resultHash: Hex; amount: bigint },
  ): Promise<boolean> {
    if (!job.peerId) return false
    try {
      const receiptCid = bytes32ToCid(claim.resultHash)
      const receiptBytes = await this.c.network.fetch(job.peerId, receiptCid, { maxBytes: 64 * 1024 })
      const receipt = decodeMessage(resultReceiptSchema, receiptBytes, 'result receipt')
      const fuelUsed = BigInt(receipt.fuelUsed)
      if (receipt.jobId !== job.jobId || fuelUsed > job.award.maxFuel) return false
      if (fuelUsed * job.award.pricePerFuel !== claim.amount) return false
      if (receipt.status === 'ok') {
        const limit = job.announcement?.job.limits.outputBytes
        const output = await this.c.network.fetch(
          job.peerId,
          receipt.outputCid,
          limit ? { maxBytes: limit } : undefined,
        )
        await this.c.store.putVerified(receipt.outputCid, output)
      }
      await this.c.store.putVerified(receiptCid, receiptBytes)
      if (job.phase === 'awarded' || job.phase === 'rejected') {
        this.c.vouchers.updateJob('requester', job.jobId, {
          phase: 'verified',
          fuelUsed,
          resultHash: claim.resultHash,
          amount: fuelUsed * job.award.pricePerFuel,
          deliveredAt: Date.now(),
        })
        await this.sendVoucher(job.award.provider)
      }
      return true
    } catch {
      return false
    }
  }

  /** A provider's result notice: the job that awaits it verifies; after a restart, verified here. */
  async onResult(notice: VoucherResultMessage): Promise<VoucherReply> {
    const stored = this.c.vouchers.jobById('requester', notice.jobId)
    if (
      !stored ||
      stored.award.provider.toLowerCase() !== notice.provider.toLowerCase() ||
      stored.award.sequence !== BigInt(notice.sequence)
    ) {
      return { type: 'voucher-reply', accepted: false, code: 'unknown-job', reason: 'no such voucher job' }
    }
    const waiter = this.waiters.get(notice.jobId)
    if (waiter) waiter.resolve(notice)
    else if (stored.phase === 'awarded') {
      // Awarded before a restart: verify and voucher it now.
      void this.verify(notice.jobId, notice, () => undefined).catch((err: unknown) =>
        this.c.logger.warn({ jobId: notice.jobId, err: describeError(err) }, 'voucher job not settled'),
      )
    }
    return { type: 'voucher-reply', accepted: true }
  }

  /**
   * Fetches and checks the receipt (it must hash to the notice's result hash and name this job
   * and fuel within the award) and the output (by its CID); a good result is vouchered.
   */
  private async verify(
    key: string,
    notice: VoucherResultMessage,
    emit: (event: JobEvent) => void,
  ): Promise<{ receipt: ResultReceipt; output?: Uint8Array; amount: bigint } | { error: BaseError }> {
    const stored = this.c.vouchers.jobById('requester', key)!
    const peer = stored.peerId!
    const fuelUsed = BigInt(notice.fuelUsed)
    try {
      if (fuelUsed > stored.award.maxFuel)
        throw new BaseError(ErrorCode.InvalidMessage, 'fuel above the award')
      const receiptCid = bytes32ToCid(notice.resultHash)
      const receiptBytes = await this.c.network.fetch(peer, receiptCid)
      const receipt = decodeMessage(resultReceiptSchema, receiptBytes, 'result receipt')
      if (receipt.jobId !== key || BigInt(receipt.fuelUsed) !== fuelUsed) {
        throw new BaseError(ErrorCode.InvalidMessage, 'receipt does not match the job or the notice')
      }
      // Kept (by its CID) so the job's outcome can be rebuilt after a restart.
      await this.c.store.putVerified(receiptCid, receiptBytes)
      let output: Uint8Array | undefined
      if (receipt.status === 'ok') {
        const limit = stored.announcement?.job.limits.outputBytes
        output = await this.c.network.fetch(peer, receipt.outputCid, limit ? { maxBytes: limit } : undefined)
        await this.c.store.putVerified(receipt.outputCid, output)
        emit({ type: 'verified', jobId: BigInt(key), outputBytes: output.length })
      }
      const amount = fuelUsed * stored.award.pricePerFuel
      this.c.vouchers.updateJob('requester', key, {
        phase: 'verified',
        fuelUsed,
        resultHash: notice.resultHash,
        amount,
        deliveredAt: Date.now(),
      })
      await this.sendVoucher(stored.award.provider)
      return { receipt, ...(output ? { output } : {}), amount }
    } catch (err) {
      const error =
        err instanceof BaseError ? err : new BaseError(ErrorCode.Internal, describeError(err), { cause: err })
      // Not vouchered: the provider may claim it, and this requester may dispute the claim.
      this.c.vouchers.updateJob('requester', key, { phase: 'rejected', reason: error.message })
      this.c.logger.warn({ jobId: key, err: error.message }, 'voucher job result not verified: not vouchered')
      return { error }
    }
  }

  /**
   * Signs and sends the cumulative voucher over every verified job in sequence after the latest
   * one (a rejected or pending job stops the run: a voucher never skips a job). Written first.
   */
  async sendVoucher(provider: Address): Promise<VoucherTerms | undefined> {
    return this.locks.run(pairKey(this.address, provider), async () => {
      const channel = this.channel(provider)
      const latest = channel.latest?.voucher
      let through = latest?.paidThroughSequence ?? 0n
      const covered: { job: VoucherJobRecord; amount: bigint; leaf: VoucherJobLeaf; closed?: string }[] = []
      for (const job of this.c.vouchers.jobsOf('requester', this.address, provider)) {
        if (job.award.sequence <= through) continue
        if (job.award.sequence !== through + 1n) break
        const entry = this.voucherEntry(job)
        if (!entry) break
        covered.push({ job, ...entry })
        through = job.award.sequence
      }
      if (covered.length === 0) return undefined
      const voucher: VoucherTerms = {
        requester: this.address,
        provider,
        paidThroughSequence: through,
        cumulativeAmount: covered.reduce((sum, c) => sum + c.amount, latest?.cumulativeAmount ?? 0n),
        jobsRoot: extendJobsRoot(
          latest?.jobsRoot ?? zeroHash,
          covered.map((c) => c.leaf),
        ),
      }
      const signature = await this.c.vault.signVoucher(voucher)
      const voucheredBy = {
        paidThroughSequence: voucher.paidThroughSequence,
        cumulativeAmount: voucher.cumulativeAmount,
      }
      const voucheredAt = Date.now()
      this.c.transaction(() => {
        this.c.vouchers.saveChannel({
          ...channel,
          latest: { voucher, signature, signer: this.address },
          vouchersSigned: (channel.vouchersSigned ?? 0) + 1,
        })
        for (const { job, closed } of covered) {
          if (job.phase === 'verified') {
            this.c.vouchers.saveJob({ ...job, phase: 'vouchered', voucheredBy, voucheredAt })
          } else if (job.phase === 'awarded') {
            // Passed over, closed: never vouchered (an award lost for good, or no result).
            this.c.vouchers.saveJob({
              ...job,
              phase: 'rejected',
              reason: `closed: ${closed}`,
              unacknowledged: false,
            })
          }
        }
      })
      for (const { job, amount } of covered) {
        if (job.phase !== 'verified') continue
        this.c.requester.recordJobEvent({
          type: 'voucher-signed',
          jobId: BigInt(job.jobId),
          sequence: job.award.sequence,
          amount,
          ...voucheredBy,
        })
      }
      if (this.testWithholdVouchers) return voucher
      const reply = await this.c.network
        .request(
          channel.peerId!,
          PROTOCOL_VOUCHER,
          { type: 'voucher', voucher: voucherToWire(voucher), signature },
          voucherReplySchema,
          { timeoutMs: 10_000 },
        )
        .catch((err: unknown) => ({ accepted: false, code: 'unreachable', reason: describeError(err) }))
      if (!reply.accepted) {
        this.c.logger.warn(
          { provider, code: reply.code, reason: reply.reason },
          'provider refused the voucher',
        )
      }
      return voucher
    })
  }

  /**
   * What job `job` adds to the pair's next voucher, or undefined if the voucher run stops at it.
   * The CLOSED rule first (job-closure.ts: its claim ended, or its claim deadline passed with no
   * claim, as far as the claim scan has read), the same the provider applies; otherwise a
   * verified job at its amount; anything else (awaiting its result, rejected, a claim pending)
   * stops the run.
   */
  private voucherEntry(
    job: VoucherJobRecord,
  ): { amount: bigint; leaf: VoucherJobLeaf; closed?: string } | undefined {
    const claim = job.claim
    const closure = jobClosure({
      sequence: job.award.sequence,
      award: job.award,
      ...(claim
        ? {
            claim: {
              status: claim.status ?? 'Pending',
              amount: claim.amount,
              resultHash: job.claimResult?.resultHash ?? zeroHash,
              fuelUsed: job.claimResult?.fuelUsed ?? 0n,
            },
          }
        : {}),
      ...(this.claimsKnownAt !== undefined ? { now: this.claimsKnownAt } : {}),
    })
    // A paid claim read before its result and fuel were recorded: wait for them.
    if (closure.closed && closure.why === 'claim-paid' && !job.claimResult) return undefined
    // A verified job the provider could still claim is paid at its amount; past its claim deadline
    // it is still paid (the provider accepts either), never below what was verified.
    if (job.phase === 'verified' && (!closure.closed || closure.why === 'claim-deadline')) {
      return {
        amount: job.amount!,
        leaf: {
          sequence: job.award.sequence,
          specHash: job.award.specHash,
          resultHash: job.resultHash!,
          fuelUsed: job.fuelUsed!,
          pricePerFuel: job.award.pricePerFuel,
        },
      }
    }
    return closure.closed ? { amount: closure.amount, leaf: closure.leaf, closed: closure.why } : undefined
  }

  /**
   * Tops the provider's escrow up if it does not cover this job on top of what is owed, then signs
   * the award with the pair's next sequence and sends it; a refused award gives its sequence back.
   */
  private async award(
    job: PreparedJob,
    key: string,
    provider: Address,
    providerPeerId: string,
    pricePerFuel: bigint,
    maxFuel: bigint,
    signal?: AbortSignal,
  ): Promise<{ award: VoucherAward; gasUsed: bigint }> {
    return this.locks.run(pairKey(this.address, provider), async () => {
      let gasUsed = 0n
      // Earlier awards whose answer was lost go again first: a provider that never got one runs
      // it now if it still can, and one that did answers as before.
      await this.resendUnacknowledged(provider)
      const channel = { ...this.channel(provider), peerId: providerPeerId }
      const onChain = await this.c.vault.channelOf(this.address, provider)
      if (onChain.thawReadyAt !== 0n) {
        // This account is withdrawing the escrow (perhaps from another tool): no new work, no deposit.
        throw new BaseError(
          ErrorCode.Aborted,
          `the escrow for provider ${provider} is thawing: no new voucher job`,
          {
            hint: 'cancel the thaw (VoucherVault.cancelThaw) or pay this provider per job on-chain',
            details: { refusal: 'thawing' },
          },
        )
      }
      const cost = maxFuel * pricePerFuel
      const signed = channel.latest?.voucher.cumulativeAmount ?? 0n
      const owed = signed > onChain.collected ? signed - onChain.collected : 0n
      const through = channel.latest?.voucher.paidThroughSequence ?? 0n
      const inFlight = this.c.vouchers
        .jobsOf('requester', this.address, provider)
        // A job a voucher passed over (closed) is owed nothing more.
        .filter((j) => (j.phase === 'awarded' || j.phase === 'verified') && j.award.sequence > through)
        .reduce((sum, j) => sum + (j.amount ?? j.award.maxFuel * j.award.pricePerFuel), 0n)
      const needed = owed + inFlight + cost
      if (onChain.balance < needed) {
        const shortfall = needed - onChain.balance
        const amount = bigMax(shortfall, this.init.depositAmount)
        const deposit = await this.c.vault.depositWithPermit(provider, amount)
        this.gasUsed += deposit.gasUsed
        gasUsed += deposit.gasUsed
        this.c.logger.info({ provider, amount: amount.toString() }, 'vault escrow topped up')
      }
      const now = await this.c.vault.nowSeconds()
      const resultDeadline = now + BigInt(job.spec.deadlines.executionSeconds)
      const award: VoucherAward = {
        jobId: BigInt(key),
        requester: this.address,
        provider,
        sequence: channel.lastSequence + 1n,
        pricePerFuel,
        maxFuel,
        specHash: job.specHash,
        resultDeadline,
        claimDeadline: resultDeadline + this.init.claimMarginSeconds,
      }
      // A job cancelled while its escrow was topped up is not awarded (the deposit stays in escrow).
      signal?.throwIfAborted()
      const signature = await this.c.vault.signAward(award)
      const announcement = this.announced.get(key)
      this.c.transaction(() => {
        this.c.vouchers.saveJob({
          role: 'requester',
          jobId: key,
          phase: 'awarded',
          award,
          awardSignature: signature,
          signer: this.address,
          ...(announcement ? { announcement } : {}),
          peerId: providerPeerId,
          unacknowledged: true,
        })
        this.c.vouchers.saveChannel({ ...channel, lastSequence: award.sequence })
      })
      let reply = await this.sendAward(providerPeerId, award, signature)
      // No answer is not a refusal: the provider may hold the award. The same signed award again
      // (a provider answers a copy it holds as before and never runs it twice).
      for (const pause of AWARD_RESEND_PAUSES_MS) {
        if (reply.accepted || reply.code) break
        this.c.logger.info(
          { provider, sequence: award.sequence.toString(), reason: reply.reason },
          'award not answered: sending it again',
        )
        await sleep(pause, signal).catch(() => undefined)
        reply = await this.sendAward(providerPeerId, award, signature)
      }
      if (reply.accepted) {
        this.c.vouchers.updateJob('requester', key, { unacknowledged: false })
      } else if (!reply.code) {
        // Still no answer: the award stays (unacknowledged), sent again before the next one. If
        // the provider has it, its result is verified and vouchered when it comes; if not, the job
        // closes at its claim deadline and the pair's vouchers pass over it (job-closure.ts).
        throw new BaseError(
          ErrorCode.Timeout,
          `provider ${provider} did not answer the award of voucher job ${key}: ${reply.reason}`,
          {
            hint: 'the provider may still run it (then it is vouchered); otherwise nothing is owed',
            details: { sequence: award.sequence.toString(), ambiguous: true },
          },
        )
      }
      if (!reply.accepted) {
        if (reply.code) {
          // Refused, so never started: the sequence goes back for the next award.
          this.c.transaction(() => {
            this.c.vouchers.saveJob({
              role: 'requester',
              jobId: key,
              phase: 'rejected',
              award,
              awardSignature: signature,
              reason: `refused: ${reply.code}`,
            })
            this.c.vouchers.saveChannel({ ...channel, lastSequence: award.sequence - 1n })
          })
        }
        throw new BaseError(
          ErrorCode.Aborted,
          `provider ${provider} did not take voucher job ${key}: ${reply.reason ?? reply.code}`,
          {
            hint: 'nothing was paid; submit the job again',
            details: { refusal: reply.code },
          },
        )
      }
      return { award, gasUsed }
    })
  }

  private sendAward(peer: string, award: VoucherAward, signature: Hex): Promise<VoucherReply> {
    return this.c.network
      .request(
        peer,
        PROTOCOL_VOUCHER,
        { type: 'voucher-award', award: awardToWire(award), signature },
        voucherReplySchema,
        { timeoutMs: 15_000 },
      )
      .catch(
        (err: unknown): VoucherReply => ({
          type: 'voucher-reply',
          accepted: false,
          reason: describeError(err),
        }),
      )
  }

  /**
   * Sends again, once each, the pair's awards no answer came for (in the pair's lock). Accepted:
   * acknowledged. Refused with a code: the provider does not hold it, the job is rejected (its
   * sequence stays: later ones were awarded; a voucher covers it at 0 once it is closed).
   */
  private async resendUnacknowledged(provider: Address): Promise<void> {
    for (const job of this.c.vouchers.jobsOf('requester', this.address, provider)) {
      if (!job.unacknowledged || job.phase !== 'awarded' || !job.peerId) continue
      const reply = await this.sendAward(job.peerId, job.award, job.awardSignature)
      if (reply.accepted) {
        this.c.vouchers.updateJob('requester', job.jobId, { unacknowledged: false })
        this.c.logger.info(
          { provider, sequence: job.award.sequence.toString() },
          'earlier award acknowledged',
        )
      } else if (reply.code) {
        this.c.vouchers.updateJob('requester', job.jobId, {
          unacknowledged: false,
          phase: 'rejected',
          reason: `refused: ${reply.code}`,
        })
      }
    }
  }

  /** Announcements sent, by job id, so the award record keeps the job's limits. */
  private readonly announced = new Map<string, JobAnnouncement>()

  /** Sends a voucher job to every provider with a live offer (gossip carries JobMarket jobs only). */
  private async publish(message: {
    type: 'voucher-job'
    payment: { kind: 'voucher'; vault: Address }
    announcement: JobAnnouncement
  }): Promise<void> {
    this.announced.set(message.announcement.jobId, message.announcement)
    setTimeout(() => this.announced.delete(message.announcement.jobId), 600_000).unref()
    await this.sendToLiveProviders(message, 'voucher job')
  }

  private channel(provider: Address): VoucherChannelRecord {
    return (
      this.c.vouchers.channel('requester', this.address, provider) ?? {
        role: 'requester',
        requester: this.address,
        provider,
        lastSequence: 0n,
      }
    )
  }
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
