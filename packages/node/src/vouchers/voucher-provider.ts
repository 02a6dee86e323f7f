import { ChainError, type VerificationCourt, type VoucherVault } from '@bazaar/chain'
import {
  awardFromWire,
  cidToBytes32,
  describeError,
  encodeReceipt,
  isVoucherJobId,
  PROTOCOL_VOUCHER,
  type VoucherAwardMessage,
  type VoucherJobMessage,
  type VoucherMessage,
  type VoucherReply,
  voucherFromWire,
  voucherReplySchema,
  voucherToWire,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type Address, type Hex, zeroHash } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { NetworkServices } from '../network-services.ts'
import { runJob } from '../provider/job-runner.ts'
import type { ProviderService, WasmRunner } from '../provider/provider-service.ts'
import { INPUT_FETCH_RETRY_MS, retryUntil } from '../retry-until.ts'
import type { VoucherChannelRecord, VoucherJobRecord, VoucherRepo } from '../store/voucher-repo.ts'
import { driveCase } from '../verification/drive-case.ts'
import { canAccept, exposureOf } from './exposure.ts'
import { PairLocks } from './pair-locks.ts'
import { checkVoucher, type HeldJob } from './voucher-acceptance.ts'
import { VoucherRefusal, VoucherRefusedError } from './voucher-error.ts'

export interface VoucherProviderInit {
  /** Most unvouchered work (delivered or in flight at its maximum) accepted from one requester. */
  exposureCap: bigint
  /**
   * Redeem once the unredeemed value of held vouchers reaches this (default 1 BZR): one redemption
   * costs ~62k gas whatever it covers, so small amounts wait for the timer.
   */
  redeemThreshold?: bigint
  /** Redeem whatever is held at least this often (default 1 h). */
  redeemIntervalMs?: number
  /** A delivered job no voucher covers after this long is claimed on-chain (default 10 min). */
  claimAfterMs?: number
  /** How often thaws, revocations, redemptions and claims are checked (default 5 s). */
  pollMs?: number
  /** An award must leave at least this long to claim after its result deadline (default 60 s). */
  minClaimMarginSeconds?: bigint
}

export interface VoucherProviderComponents {
  vault: VoucherVault
  /**
   * The court that judges disputed claims: with it, a provider whose claim is disputed sends the
   * job to its peers (the referee pool) and moves the case along itself, so a requester that
   * disputes and then goes silent cannot stall its own case.
   */
  court?: Pick<VerificationCourt, 'caseCount' | 'getCase' | 'getDispute' | 'drawReferees' | 'resolveDispute'>
  provider: ProviderService
  network: NetworkServices
  store: ContentStore
  runner: WasmRunner
  vouchers: VoucherRepo
  transaction<T>(fn: () => T): T
  logger: Logger
}

/** What the provider holds and has been paid on the voucher path (for /metrics and logs). */
export interface VoucherProviderStats {
  vouchersHeld: number
  unredeemedValue: bigint
  redemptions: number
  redeemedValue: bigint
  redeemGas: bigint
  claims: number
  claimsPaid: number
  claimedValue: bigint
  /** Refusals by code (`VoucherRefusal`). */
  refused: Map<string, number>
  /** Messages received and accepted, by type (voucher-job, voucher-award, voucher). */
  received: Map<string, number>
  accepted: Map<string, number>
  /** Vouchers and jobs the redemptions paid for (jobs: sequences newly covered on-chain). */
  redeemedVouchers: number
  redeemedJobs: number
}

/** Most sequences an award may skip (awards lost on the way); a voucher then covers them at 0. */
const MAX_SEQUENCE_GAP = 64n

/**
 * The provider's side of the voucher path (docs/vouchers.md). Bids go through the ordinary
 * ProviderService (a voucher job's id cannot be a JobMarket id); a signed award is checked
 * (signer, sequence, thaw, exposure), the job run with the existing job runner, its receipt and
 * output served from the content store, and the requester told. A voucher is accepted only if it
 * pays exactly what was delivered through its sequence. Held vouchers are redeemed in one batch
 * past a threshold, on a timer, and at once when a requester thaws or revokes a key; a delivered
 * job no voucher covers is claimed on-chain with its signed award. Everything is written before
 * it is acted on, so a restarted node redeems and claims what it held.
 */
export class VoucherProvider {
  readonly stats: VoucherProviderStats = {
    vouchersHeld: 0,
    unredeemedValue: 0n,
    redemptions: 0,
    redeemedValue: 0n,
    redeemGas: 0n,
    claims: 0,
    claimsPaid: 0,
    claimedValue: 0n,
    refused: new Map(),
    received: new Map(),
    accepted: new Map(),
    redeemedVouchers: 0,
    redeemedJobs: 0,
  }
  private readonly init: Required<VoucherProviderInit>
  private readonly c: VoucherProviderComponents
  private readonly locks = new PairLocks()
  /**
   * TEST ONLY (the lost-award e2e; empty in production): how the next awards are lost, one entry
   * per award received: `request` drops it unseen, `reply` takes it and loses the answer (the
   * requester sees an error, no refusal code).
   */
  testLoseAwards: ('request' | 'reply')[] = []
  private readonly running = new Set<Promise<void>>()
  private readonly abort = new AbortController()
  /** Disputed claims whose job this node sent and whose case it drives (once per run). */
  private readonly defended = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private lastRedeemAt = Date.now()
  private scannedThrough: bigint | undefined
  /** Set by a thaw or a revocation: redeem at the next tick whatever the threshold. */
  private redeemNow = false

  constructor(init: VoucherProviderInit, components: VoucherProviderComponents) {
    this.init = {
      redeemThreshold: 10n ** 18n,
      redeemIntervalMs: 3_600_000,
      claimAfterMs: 600_000,
      pollMs: 5_000,
      minClaimMarginSeconds: 60n,
      ...init,
    }
    this.c = components
  }

  get address(): Address {
    return this.c.vault.account
  }

  /** Restarts work a previous run left (jobs accepted but not delivered) and starts the timer. */
  async start(): Promise<void> {
    for (const job of this.c.vouchers.jobsInPhases('provider', ['accepted', 'running'])) {
      if (!job.announcement) continue
      this.c.logger.info({ jobId: job.jobId, sequence: job.award.sequence.toString() }, 'voucher job resumed')
      this.spawn(job)
    }
    // Thaws announced while this node was down: read the channels once, then follow the events.
    for (const channel of this.c.vouchers.channels('provider')) {
      const thaw = await this.c.vault.thawOf(channel.requester, channel.provider)
      if (thaw.readyAt !== 0n && !channel.thawing) {
        this.c.vouchers.saveChannel({ ...channel, thawing: true })
        this.redeemNow = true
      }
    }
    this.scannedThrough = await this.c.vault.blockNumber()
    this.refreshStats()
    this.timer = setInterval(() => void this.tick(), this.init.pollMs)
    this.timer.unref()
  }

  /** Handles a message on PROTOCOL_VOUCHER addressed to the provider side. */
  async onMessage(message: VoucherJobMessage | VoucherAwardMessage | VoucherMessage): Promise<VoucherReply> {
    const count = (map: Map<string, number>) => map.set(message.type, (map.get(message.type) ?? 0) + 1)
    count(this.stats.received)
    try {
      if (message.type === 'voucher-job') await this.onVoucherJob(message)
      else if (message.type === 'voucher-award') await this.onAward(message)
      else await this.onVoucher(message)
      count(this.stats.accepted)
      return { type: 'voucher-reply', accepted: true }
    } catch (err) {
      if (!(err instanceof VoucherRefusedError)) throw err
      this.stats.refused.set(err.refusal, (this.stats.refused.get(err.refusal) ?? 0) + 1)
      this.c.logger.info(
        { type: message.type, refusal: err.refusal, reason: err.message },
        'voucher message refused',
      )
      return { type: 'voucher-reply', accepted: false, code: err.refusal, reason: err.message.slice(0, 512) }
    }
  }

  /** A voucher-paid job: bid like on any job (the bid signs its voucher-job id). */
  async onVoucherJob(message: VoucherJobMessage): Promise<void> {
    const { announcement, payment } = message
    if (payment.vault.toLowerCase() !== this.c.vault.address.toLowerCase()) {
      throw new VoucherRefusedError(VoucherRefusal.WrongParty, 'the job is paid through another vault')
    }
    if (!isVoucherJobId(announcement.jobId)) {
      throw new VoucherRefusedError(VoucherRefusal.WrongParty, 'a voucher job id must be at least 2^255')
    }
    // The bid is answered on the bid stream, as for any job; this reply only acknowledges.
    this.c.provider
      .onAnnouncement(announcement)
      .catch((err: unknown) => this.c.logger.warn({ err: describeError(err) }, 'voucher job bid failed'))
  }

  /** A signed award: accepted only for our open bid, from the requester or a live key, in sequence, within exposure. */
  async onAward(message: VoucherAwardMessage): Promise<void> {
    const award = awardFromWire(message.award)
    // The job id is signed in the award: a claim and its referees name exactly this job.
    const key = award.jobId.toString()
    const lose = this.testLoseAwards.shift()
    if (lose === 'request') throw new Error('TEST: award request lost')
    // The same signed award again (its reply was lost): accepted as before, never run twice.
    const held = this.c.vouchers.jobById('provider', key)
    if (
      held &&
      held.awardSignature.toLowerCase() === message.signature.toLowerCase() &&
      held.award.sequence === award.sequence &&
      held.award.requester.toLowerCase() === award.requester.toLowerCase() &&
      held.award.provider.toLowerCase() === award.provider.toLowerCase()
    ) {
      this.c.logger.info({ jobId: key, sequence: award.sequence.toString() }, 'award received again')
      if (lose === 'reply') throw new Error('TEST: award reply lost')
      return
    }
    const open = this.c.provider.openVoucherBid(key)
    if (!open) throw new VoucherRefusedError(VoucherRefusal.NoOpenBid, `no open bid for voucher job ${key}`)
    const job = open.announcement
    if (award.provider.toLowerCase() !== this.address.toLowerCase()) {
      throw new VoucherRefusedError(VoucherRefusal.WrongParty, 'the award names another provider')
    }
    if (award.requester.toLowerCase() !== job.requester.toLowerCase()) {
      throw new VoucherRefusedError(
        VoucherRefusal.WrongParty,
        'the award names another requester than the job',
      )
    }
    if (
      award.pricePerFuel !== open.pricePerFuel ||
      award.specHash !== job.specHash ||
      award.maxFuel !== BigInt(job.job.limits.fuel)
    ) {
      throw new VoucherRefusedError(
        VoucherRefusal.TermsMismatch,
        'price, spec or fuel differ from the bid and the job',
      )
    }
    const now = await this.c.vault.nowSeconds()
    if (award.claimDeadline < bigMax(award.resultDeadline, now) + this.init.minClaimMarginSeconds) {
      throw new VoucherRefusedError(
        VoucherRefusal.TermsMismatch,
        'the claim deadline leaves no time to claim',
      )
    }
    const signer = await this.checkSigner(award.requester, () =>
      this.c.vault.recoverAwardSigner(award, message.signature),
    )
    await this.locks.run(pairKey(award.requester, award.provider), async () => {
      const channel = this.channel(award.requester)
      // Any sequence not used yet and above the latest voucher: a sequence skipped is an award
      // that never reached us (lost, or refused), a job we never ran: it is owed nothing, so a
      // voucher covers it at 0 and we risk nothing. Bounded, so a voucher never spans a huge gap.
      const vouchered = channel.latest?.voucher.paidThroughSequence ?? 0n
      if (
        award.sequence <= vouchered ||
        award.sequence > channel.lastSequence + MAX_SEQUENCE_GAP ||
        this.c.vouchers.job('provider', award.requester, award.provider, award.sequence)
      ) {
        throw new VoucherRefusedError(
          VoucherRefusal.WrongSequence,
          `award sequence ${award.sequence} is used, vouchered, or too far beyond ${channel.lastSequence}`,
        )
      }
      const onChain = await this.c.vault.channelOf(award.requester, award.provider)
      if (onChain.thawReadyAt !== 0n || channel.thawing) {
        if (!channel.thawing) this.c.vouchers.saveChannel({ ...channel, thawing: true })
        this.redeemNow = true
        throw new VoucherRefusedError(
          VoucherRefusal.Thawing,
          'the requester is withdrawing its escrow for us',
        )
      }
      const exposure = this.exposure(channel, onChain)
      const verdict = canAccept(exposure, award.maxFuel * award.pricePerFuel, this.init.exposureCap)
      if (!verdict.ok) throw new VoucherRefusedError(VoucherRefusal.Exposure, verdict.why)
      const record: VoucherJobRecord = {
        role: 'provider',
        jobId: key,
        phase: 'accepted',
        award,
        awardSignature: message.signature,
        signer,
        announcement: job,
        peerId: job.requesterPeerId,
      }
      // The award is kept before any work: it is what a claim needs if the requester goes silent.
      this.c.transaction(() => {
        this.c.vouchers.saveJob(record)
        this.c.vouchers.saveChannel({
          ...channel,
          lastSequence: bigMax(channel.lastSequence, award.sequence),
          peerId: job.requesterPeerId,
        })
      })
      this.c.provider.startVoucherJob(key)
      this.spawn(record)
    })
    if (lose === 'reply') throw new Error('TEST: award reply lost')
  }

  /** A voucher: accepted only if it pays exactly what was delivered through its sequence. */
  async onVoucher(message: VoucherMessage): Promise<void> {
    const voucher = voucherFromWire(message.voucher)
    if (voucher.provider.toLowerCase() !== this.address.toLowerCase()) {
      throw new VoucherRefusedError(VoucherRefusal.WrongParty, 'the voucher names another provider')
    }
    const signer = await this.checkSigner(voucher.requester, () =>
      this.c.vault.recoverVoucherSigner(voucher, message.signature),
    )
    await this.locks.run(pairKey(voucher.requester, voucher.provider), async () => {
      const channel = this.channel(voucher.requester)
      const latest = channel.latest?.voucher
      const from = latest?.paidThroughSequence ?? 0n
      if (voucher.paidThroughSequence <= from) {
        throw new VoucherRefusedError(
          VoucherRefusal.VoucherStale,
          `the voucher covers through ${voucher.paidThroughSequence}; ${from} is already covered`,
        )
      }
      if (voucher.paidThroughSequence > channel.lastSequence) {
        throw new VoucherRefusedError(
          VoucherRefusal.NotDelivered,
          `the voucher covers through ${voucher.paidThroughSequence}; we hold awards through ${channel.lastSequence}`,
        )
      }
      const jobs = this.c.vouchers
        .jobsOf('provider', voucher.requester, voucher.provider)
        .filter((j) => j.award.sequence > from && j.award.sequence <= voucher.paidThroughSequence)
      const held = new Map<bigint, HeldJob>()
      for (const j of jobs) {
        // Our own claims, as the vault has them now: an ended one closes its job.
        const claim = j.claimId ? await this.c.vault.claimOf(j.claimId) : undefined
        held.set(j.award.sequence, {
          sequence: j.award.sequence,
          award: j.award,
          ...(j.resultHash !== undefined && j.fuelUsed !== undefined && j.amount !== undefined
            ? { delivered: { resultHash: j.resultHash, fuelUsed: j.fuelUsed, amount: j.amount } }
            : {}),
          ...(claim ? { claim } : {}),
        })
      }
      const check = checkVoucher({
        from,
        previousAmount: latest?.cumulativeAmount ?? 0n,
        previousRoot: latest?.jobsRoot ?? zeroHash,
        through: voucher.paidThroughSequence,
        cumulativeAmount: voucher.cumulativeAmount,
        jobsRoot: voucher.jobsRoot,
        jobs: held,
        now: await this.c.vault.nowSeconds(),
      })
      if (!check.ok) {
        throw new VoucherRefusedError(
          check.refusal === 'not-delivered' ? VoucherRefusal.NotDelivered : VoucherRefusal.VoucherMismatch,
          check.why,
        )
      }
      this.c.transaction(() => {
        this.c.vouchers.saveChannel({ ...channel, latest: { voucher, signature: message.signature, signer } })
        for (const job of jobs) {
          if (job.phase === 'delivered') this.c.vouchers.saveJob({ ...job, phase: 'vouchered' })
        }
      })
      this.c.logger.info(
        {
          requester: voucher.requester,
          paidThrough: voucher.paidThroughSequence.toString(),
          cumulative: voucher.cumulativeAmount.toString(),
        },
        'voucher accepted',
      )
    })
    this.refreshStats()
  }

  /**
   * Redeems the latest voucher of every requester that the vault has not paid in full, in one
   * transaction. Returns what it was paid (0 when there was nothing to redeem).
   */
  async redeem(reason = 'requested'): Promise<{ paid: bigint; gasUsed: bigint; vouchers: number }> {
    return this.locks.run('redeem', async () => {
      const batch: {
        channel: VoucherChannelRecord
        voucher: NonNullable<VoucherChannelRecord['latest']>
        /** Sequences this voucher covers that no redemption covered yet. */
        jobs: bigint
      }[] = []
      for (const channel of this.c.vouchers.channels('provider')) {
        const latest = channel.latest
        if (!latest || latest.voucher.cumulativeAmount <= (channel.redeemed ?? 0n)) continue
        const onChain = await this.c.vault.channelOf(channel.requester, channel.provider)
        if (latest.voucher.cumulativeAmount <= onChain.collected) {
          // Paid already (claims count in `collected` too): nothing this voucher adds.
          this.c.vouchers.saveChannel({ ...channel, redeemed: latest.voucher.cumulativeAmount })
          continue
        }
        const fresh = latest.voucher.paidThroughSequence - onChain.paidThrough
        batch.push({ channel, voucher: latest, jobs: fresh > 0n ? fresh : 0n })
      }
      if (batch.length === 0) return { paid: 0n, gasUsed: 0n, vouchers: 0 }
      const result = await this.c.vault.redeem(
        batch.map((b) => ({ voucher: b.voucher.voucher, signature: b.voucher.signature })),
      )
      this.c.transaction(() => {
        for (const b of batch) {
          const fresh =
            this.c.vouchers.channel('provider', b.channel.requester, b.channel.provider) ?? b.channel
          this.c.vouchers.saveChannel({ ...fresh, redeemed: b.voucher.voucher.cumulativeAmount })
        }
      })
      this.lastRedeemAt = Date.now()
      this.stats.redemptions++
      this.stats.redeemedVouchers += batch.length
      this.stats.redeemedJobs += Number(batch.reduce((sum, b) => sum + b.jobs, 0n))
      this.stats.redeemedValue += result.paid
      this.stats.redeemGas += result.gasUsed
      this.refreshStats()
      this.c.logger.info(
        { reason, vouchers: batch.length, paid: result.paid.toString(), gasUsed: result.gasUsed.toString() },
        'vouchers redeemed',
      )
      return { paid: result.paid, gasUsed: result.gasUsed, vouchers: batch.length }
    })
  }

  /** One round of the schedule: watch thaws and revocations, redeem, claim, finalize claims. */
  tick(): Promise<void> {
    this.ticking ??= this.tickOnce()
      .catch((err: unknown) => this.c.logger.warn({ err: describeError(err) }, 'voucher tick failed'))
      .finally(() => {
        this.ticking = undefined
      })
    return this.ticking
  }

  private async tickOnce(): Promise<void> {
    // A provider no requester pays by voucher has nothing to watch: no chain reads at all.
    if (this.c.vouchers.channels('provider').length === 0) return
    await this.watchEvents()
    this.refreshStats()
    const due =
      this.redeemNow ||
      (this.stats.unredeemedValue > 0n &&
        (this.stats.unredeemedValue >= this.init.redeemThreshold ||
          Date.now() - this.lastRedeemAt >= this.init.redeemIntervalMs))
    if (due) {
      this.redeemNow = false
      await this.redeem('schedule').catch((err: unknown) => {
        this.redeemNow = true
        throw err
      })
    }
    await this.claimSilent()
    await this.finalizeClaims()
  }

  /** Thaws of our escrow and revoked keys of our requesters: stop taking work, redeem now. */
  private async watchEvents(): Promise<void> {
    const to = await this.c.vault.blockNumber()
    const from = (this.scannedThrough ?? to) + 1n
    if (to < from) return
    const [thaws, revocations] = await Promise.all([
      this.c.vault.thawsSince(from, to, this.address),
      this.c.vault.signerRevocationsSince(from, to),
    ])
    this.scannedThrough = to
    for (const thaw of thaws) {
      const channel = this.c.vouchers.channel('provider', thaw.requester, this.address)
      if (!channel) continue
      this.c.vouchers.saveChannel({ ...channel, thawing: true })
      this.redeemNow = true
      this.c.logger.warn(
        { requester: thaw.requester, amount: thaw.amount.toString() },
        'requester thawing: redeeming',
      )
    }
    for (const revoked of revocations) {
      const channel = this.c.vouchers.channel('provider', revoked.requester, this.address)
      if (!channel) continue
      const signer = revoked.signer.toLowerCase()
      this.c.vouchers.saveChannel({
        ...channel,
        revokedSigners: [...new Set([...(channel.revokedSigners ?? []), signer as Address])],
      })
      if (channel.latest?.signer.toLowerCase() === signer) this.redeemNow = true
      this.c.logger.warn({ requester: revoked.requester, signer }, 'requester revoked a signing key')
    }
  }

  /** Delivered jobs no voucher covers after `claimAfterMs`: claimed with the signed award. */
  private async claimSilent(): Promise<void> {
    const now = Date.now()
    for (const job of this.c.vouchers.jobsInPhases('provider', ['delivered'])) {
      if (job.deliveredAt === undefined || now - job.deliveredAt < this.init.claimAfterMs) continue
      if (!job.amount) continue // nothing to claim for a job that billed no fuel
      await this.locks.run(pairKey(job.award.requester, job.award.provider), async () => {
        const fresh = this.c.vouchers.jobById('provider', job.jobId)
        if (fresh?.phase !== 'delivered') return
        const onChain = await this.c.vault.channelOf(job.award.requester, job.award.provider)
        if (onChain.paidThrough >= job.award.sequence) {
          this.c.vouchers.saveJob({ ...fresh, phase: 'vouchered' })
          return
        }
        try {
          const claimed = await this.c.vault.claim({
            award: job.award,
            signature: job.awardSignature,
            fuelUsed: job.fuelUsed!,
            resultHash: job.resultHash!,
          })
          this.c.vouchers.saveJob({ ...fresh, phase: 'claimed', claimId: claimed.claimId })
          this.stats.claims++
          this.c.logger.warn(
            {
              requester: job.award.requester,
              sequence: job.award.sequence.toString(),
              amount: claimed.amount.toString(),
            },
            'silent requester: job claimed on-chain',
          )
        } catch (err) {
          if (err instanceof ChainError && err.errorName === 'Vault__AlreadyCovered') {
            this.c.vouchers.saveJob({ ...fresh, phase: 'vouchered' })
            return
          }
          if (err instanceof ChainError && err.errorName === 'Vault__ClaimDeadlinePassed') {
            this.c.vouchers.saveJob({ ...fresh, phase: 'failed', reason: 'claim deadline passed' })
            return
          }
          throw err
        }
      })
    }
  }

  /** Claims past their window: finalized (paid, or returned to escrow if a voucher covered them). */
  private async finalizeClaims(): Promise<void> {
    const chainNow = await this.c.vault.nowSeconds()
    for (const job of this.c.vouchers.jobsInPhases('provider', ['claimed'])) {
      if (!job.claimId) continue
      const claim = await this.c.vault.claimOf(job.claimId)
      if (claim.status === 'Paid') {
        this.c.vouchers.saveJob({ ...job, phase: 'claim-paid' })
        continue
      }
      if (claim.status === 'Disputed') {
        this.defend(job)
        continue
      }
      if (
        claim.status !== 'Pending' ||
        bigMax(chainNow, BigInt(Math.floor(Date.now() / 1000))) < claim.deadline
      ) {
        continue
      }
      try {
        const final = await this.c.vault.finalizeClaim(job.claimId)
        this.c.vouchers.saveJob({ ...job, phase: final.paid ? 'claim-paid' : 'vouchered' })
        if (final.paid) {
          this.stats.claimsPaid++
          this.stats.claimedValue += final.amount
        }
        this.c.logger.info(
          { claimId: job.claimId, paid: final.paid, amount: final.amount.toString() },
          'claim finalized',
        )
      } catch (err) {
        // The chain's clock may trail this one: the window is still open there; next tick.
        if (err instanceof ChainError && err.errorName === 'Vault__ChallengeWindowOpen') continue
        throw err
      }
    }
  }

  /**
   * A claim of ours is disputed in the court: sends its job (as we ran it) to every connected peer
   * and on the voucher-dispute gossip topic, so drawn referees have it even if the requester sends
   * nothing, and drives the case (draw, resolve) so it cannot stall. Once per claim and run; in
   * the background.
   */
  private defend(job: VoucherJobRecord): void {
    const court = this.c.court
    const claimId = job.claimId
    if (!court || !claimId || this.defended.has(claimId)) return
    this.defended.add(claimId)
    const signal = this.abort.signal
    const work = (async () => {
      if (job.announcement) {
        const message = {
          type: 'voucher-dispute' as const,
          claimId,
          announcement: job.announcement,
          providerPeerId: this.c.network.peerId,
        }
        await Promise.all([
          ...(this.c.network.peers?.() ?? []).map((peer) =>
            this.c.network
              .request(peer, PROTOCOL_VOUCHER, message, voucherReplySchema, { signal, timeoutMs: 5_000 })
              .catch(() => undefined),
          ),
          // Gossip reaches the pool members we are not connected to.
          this.c.network
            .publishVoucherDispute?.(message)
            .catch((err: unknown) =>
              this.c.logger.debug({ claimId, err: describeError(err) }, 'disputed job not gossiped'),
            ),
        ])
      }
      const caseId = await this.caseOfClaim(claimId)
      if (caseId === undefined) {
        this.c.logger.warn({ claimId }, 'disputed claim: no court case found for it')
        return
      }
      this.c.logger.info({ claimId, caseId: caseId.toString() }, 'claim disputed: job sent to referees')
      await driveCase(court, 0n, caseId, { pollMs: this.init.pollMs, signal })
    })().catch((err: unknown) => {
      if (!signal.aborted) {
        this.defended.delete(claimId)
        this.c.logger.warn({ claimId, err: describeError(err) }, 'could not defend the disputed claim')
      }
    })
    this.running.add(work)
    void work.finally(() => this.running.delete(work))
  }

  /** The court case of a disputed claim: the newest VoucherClaim case naming it (last 256 looked at). */
  private async caseOfClaim(claimId: Hex): Promise<bigint | undefined> {
    const court = this.c.court
    if (!court) return undefined
    const count = await court.caseCount()
    for (let id = count; id > 0n && id > count - 256n; id--) {
      const c = await court.getCase(id)
      if (c.kind === 'VoucherClaim' && c.claimId.toLowerCase() === claimId.toLowerCase()) return id
    }
    return undefined
  }

  /** Everything owed to us by one requester, from the store and the vault. */
  private exposure(channel: VoucherChannelRecord, onChain: { balance: bigint; collected: bigint }) {
    const jobs = this.c.vouchers.jobsOf('provider', channel.requester, channel.provider)
    return exposureOf({
      balance: onChain.balance,
      collected: onChain.collected,
      voucheredThrough: channel.latest?.voucher.paidThroughSequence ?? 0n,
      voucheredAmount: channel.latest?.voucher.cumulativeAmount ?? 0n,
      jobs: jobs
        .filter((j) => j.phase !== 'failed')
        .map((j) => ({
          sequence: j.award.sequence,
          maxCost: j.award.maxFuel * j.award.pricePerFuel,
          ...(j.amount !== undefined ? { amount: j.amount } : {}),
          claimed: j.phase === 'claimed' || j.phase === 'claim-paid',
        })),
    })
  }

  /** The signer of an award or voucher, which must be the requester or a current, unrevoked key of it. */
  private async checkSigner(requester: Address, recover: () => Promise<Address>): Promise<Address> {
    let signer: Address
    try {
      signer = await recover()
    } catch {
      throw new VoucherRefusedError(VoucherRefusal.BadSignature, 'the signature is malformed')
    }
    if (signer.toLowerCase() === requester.toLowerCase()) return signer
    const channel = this.c.vouchers.channel('provider', requester, this.address)
    if (channel?.revokedSigners?.some((s) => s.toLowerCase() === signer.toLowerCase())) {
      throw new VoucherRefusedError(
        VoucherRefusal.SignerRevoked,
        `key ${signer} was revoked by the requester`,
      )
    }
    if (!(await this.c.vault.isSigner(requester, signer))) {
      throw new VoucherRefusedError(
        VoucherRefusal.BadSignature,
        `signed by ${signer}, which is neither the requester nor one of its signing keys`,
      )
    }
    return signer
  }

  private channel(requester: Address): VoucherChannelRecord {
    return (
      this.c.vouchers.channel('provider', requester, this.address) ?? {
        role: 'provider',
        requester,
        provider: this.address,
        lastSequence: 0n,
        redeemed: 0n,
      }
    )
  }

  private spawn(job: VoucherJobRecord): void {
    const work = this.execute(job)
      .catch((err: unknown) => {
        this.c.vouchers.updateJob('provider', job.jobId, { phase: 'failed', reason: describeError(err) })
        this.c.provider.endVoucherJob(job.jobId, { phase: 'failed', reason: describeError(err) })
        this.c.logger.error({ jobId: job.jobId, err: describeError(err) }, 'voucher job failed')
      })
      .finally(() => this.running.delete(work))
    this.running.add(work)
  }

  /** Runs the job, keeps receipt and output (served by CID), and tells the requester. */
  private async execute(job: VoucherJobRecord): Promise<void> {
    const announcement = job.announcement!
    const peer = announcement.requesterPeerId
    const signal = this.abort.signal
    this.c.vouchers.updateJob('provider', job.jobId, { phase: 'running' })
    await this.c.network.rememberPeer(peer, announcement.requesterAddrs).catch(() => undefined)
    const receipt = await runJob(this.c.runner, {
      jobId: job.jobId,
      job: announcement.job,
      // A dropped connection costs a retry, not the job (as on the per-job path).
      fetch: (cid) =>
        retryUntil(() => this.c.network.fetch(peer, cid, { signal }), {
          untilMs: Date.now() + INPUT_FETCH_RETRY_MS,
          signal,
        }),
      store: this.c.store,
      signal,
    })
    const receiptCid = await this.c.store.put(encodeReceipt(receipt))
    const resultHash = cidToBytes32(receiptCid)
    const fuelUsed = BigInt(receipt.fuelUsed)
    const amount = fuelUsed * job.award.pricePerFuel
    // Written before the requester hears of it: the claim fallback starts from here.
    this.c.vouchers.updateJob('provider', job.jobId, {
      phase: 'delivered',
      resultHash,
      fuelUsed,
      amount,
      deliveredAt: Date.now(),
    })
    this.c.provider.endVoucherJob(job.jobId, { phase: 'revealed', fuelUsed })
    this.refreshStats()
    const notice = {
      type: 'voucher-result' as const,
      jobId: job.jobId,
      requester: job.award.requester,
      provider: job.award.provider,
      sequence: job.award.sequence.toString(),
      resultHash,
      fuelUsed: fuelUsed.toString(),
    }
    // A lost notice costs only time: an uncovered job is claimed after `claimAfterMs`.
    for (const pause of [0, 500, 2_000]) {
      if (pause) await new Promise((r) => setTimeout(r, pause))
      const ok = await this.c.network
        .request(peer, PROTOCOL_VOUCHER, notice, voucherReplySchema, { signal, timeoutMs: 10_000 })
        .then((reply) => reply.accepted)
        .catch(() => false)
      if (ok) return
    }
    this.c.logger.warn({ jobId: job.jobId }, 'requester did not take the result notice')
  }

  /** Vouchers held and their unredeemed value, recomputed from the store. */
  private refreshStats(): void {
    let held = 0
    let unredeemed = 0n
    for (const channel of this.c.vouchers.channels('provider')) {
      if (!channel.latest) continue
      held++
      const owed = channel.latest.voucher.cumulativeAmount - (channel.redeemed ?? 0n)
      if (owed > 0n) unredeemed += owed
    }
    this.stats.vouchersHeld = held
    this.stats.unredeemedValue = unredeemed
  }

  /**
   * Per requester: work no voucher pays yet (delivered at its amount, running at its maximum) and
   * vouchers held but not redeemed, from the store (for /metrics; no chain read).
   */
  exposures(): { requester: Address; unvouchered: bigint; unredeemed: bigint }[] {
    return this.c.vouchers.channels('provider').map((channel) => {
      const { unvouchered, unredeemed } = this.exposure(channel, {
        balance: 0n,
        collected: channel.redeemed ?? 0n,
      })
      return { requester: channel.requester, unvouchered, unredeemed }
    })
  }

  /** The latest voucher held from `requester` (tests, API). */
  latestVoucher(requester: Address) {
    const latest = this.c.vouchers.channel('provider', requester, this.address)?.latest
    return latest ? { ...latest, wire: voucherToWire(latest.voucher) } : undefined
  }

  /** Stops the schedule and waits for jobs in flight (their state is on disk either way). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.abort.abort()
    await this.ticking
    await Promise.allSettled([...this.running])
  }
}

export function pairKey(requester: Address, provider: Address): string {
  return `${requester.toLowerCase()}:${provider.toLowerCase()}`
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

export type { Hex }
