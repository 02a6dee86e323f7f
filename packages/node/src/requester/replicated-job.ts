import { ChainError } from '@bazaar/chain'
import { type PriceIndex, resourceClass } from '@bazaar/market'
import {
  awardReplySchema,
  BaseError,
  type BidMessageWire,
  bytes32ToCid,
  decodeMessage,
  describeError,
  ErrorCode,
  type JobAnnouncement,
  type JobDescriptor,
  PROTOCOL_AWARD,
  type ResultReceipt,
  resultReceiptSchema,
} from '@bazaar/protocol'
import { receiptIsFor } from '@bazaar/protocol/receipt'
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import { retryUntil } from '../retry-until.ts'
import { sleep } from '../sleep.ts'
import type { NodeStore } from '../store/node-store.ts'
import type { StoredRequesterJob } from '../store/requester-job-repo.ts'
import {
  openReplicated,
  type ReplicatedCourt,
  type ReplicatedOutcome,
  settleReplicated,
} from '../verification/replicated-settlement.ts'
import type { JobEvent } from './job-events.ts'
import type { PreparedJob } from './prepare-job.ts'
import { type JobOutcome, type NoBidsError, requirementsOf } from './requester-service.ts'

/** What the replicated path needs of the requester service (its auction, chain and network). */
export interface ReplicatedHost {
  chain: MarketChain
  network: NetworkServices
  store: ContentStore
  logger: Logger
  court: ReplicatedCourt
  prices: PriceIndex
  db?: Pick<NodeStore, 'requesterJobs'> | undefined
  pollMs: number
  maxAnnouncements: number
  runAuction(
    job: PreparedJob,
    jobId: bigint,
    options: {
      emit: (event: JobEvent) => void
      publish: (announcement: JobAnnouncement) => Promise<void>
      signal?: AbortSignal
      exclude?: ReadonlySet<string>
    },
  ): Promise<
    | { winner: BidMessageWire; bidsReceived: number }
    | { winner?: undefined; bidsReceived: number; noBids: NoBidsError }
  >
  /** Tells a provider its bid lost (best effort). */
  decline(peer: string, jobId: string): void
}

/** One replica: its JobMarket job and, once chosen, the bid that won it. */
interface Replica {
  jobId: bigint
  escrow: bigint
  winner?: BidMessageWire
  committed: boolean
  revealed: boolean
  expired: boolean
}

/**
 * Runs a job with `verification: { mode: replicated, k }` (docs/verification.md): k JobMarket
 * jobs of the same spec (k escrows), auctioned one after the other so that each goes to a
 * different provider (bids are signed per job id, so each replica has its own announcement and
 * bids; a provider that already won one is excluded from the next), all awarded, then linked into
 * one court case before any can reveal; once each has revealed or expired the court settles the
 * case: agreeing replicas are paid, a disagreement (or a lone survivor) goes to referees. The
 * requester fetches and verifies one upheld replica's result. Every exit settles or refunds all
 * k escrows.
 */
export async function runReplicated(
  host: ReplicatedHost,
  job: PreparedJob,
  emit: (event: JobEvent) => void,
  created: { jobId?: bigint },
  signal: AbortSignal | undefined,
): Promise<JobOutcome> {
  const { chain, network } = host
  const verification = job.descriptor.verification
  if (verification.mode !== 'replicated') throw new TypeError('not a replicated job')
  const k = verification.k
  const maxFuel = BigInt(job.descriptor.limits.fuel)
  const maxPricePerFuel = BigInt(job.descriptor.maxPricePerFuel)
  const escrowEach = maxFuel * maxPricePerFuel
  // Every replica's auction may take all its announcements: the bidding budget covers k of them.
  const biddingBudgetSeconds = BigInt(
    Math.ceil((job.spec.deadlines.biddingMs * host.maxAnnouncements * k) / 1000) + 30,
  )
  let gasUsed = 0n
  let bidsReceived = 0
  const replicas: Replica[] = []
  for (let i = 0; i < k; i++) {
    const made = await chain.createJob({
      specHash: job.specHash,
      maxPricePerFuel,
      maxFuel,
      biddingSeconds: biddingBudgetSeconds,
      executionSeconds: BigInt(job.spec.deadlines.executionSeconds),
    })
    gasUsed += made.gasUsed
    replicas.push({
      jobId: made.jobId,
      escrow: escrowEach,
      committed: false,
      revealed: false,
      expired: false,
    })
    if (i === 0) {
      // The first replica's id names the whole job (its record and its timeline).
      host.db?.requesterJobs.create({
        jobId: made.jobId,
        name: job.descriptor.name,
        descriptor: job.descriptor,
        escrow: escrowEach * BigInt(k),
        submittedAt: Date.now(),
      })
      created.jobId = made.jobId
    }
    emit({ type: 'created', jobId: made.jobId, escrow: escrowEach })
  }
  const mainJob = replicas[0]!.jobId
  const escrow = escrowEach * BigInt(k)
  const base = { jobId: mainJob, escrow, fuelUsed: 0n, paid: 0n, refunded: 0n }

  /** Cancels every replica still open (none awarded yet) and tells chosen winners they lost. */
  const abandon = async (reason: string, error: BaseError): Promise<JobOutcome> => {
    for (const r of replicas) {
      const state = (await chain.getJob(r.jobId)).status
      if (state === 'Open') gasUsed += (await chain.cancelJob(r.jobId)).gasUsed
      if (r.winner) host.decline(r.winner.providerPeerId, r.jobId.toString())
      emit({ type: 'refunded', jobId: r.jobId, reason })
    }
    return {
      ...base,
      status: 'refunded',
      refunded: escrow,
      gasUsed,
      bidsReceived,
      error: error.toJSON(),
    }
  }

  // Auctions, one replica after the other, each excluding the providers already chosen. Nothing
  // is awarded yet: an auction that fails (or is aborted) cancels every escrow.
  const chosen = new Set<string>()
  try {
    for (const r of replicas) {
      const auctioned = await host.runAuction(job, r.jobId, {
        emit,
        publish: (announcement) => network.publishJob(announcement),
        exclude: chosen,
        ...(signal ? { signal } : {}),
      })
      bidsReceived += auctioned.bidsReceived
      if (!auctioned.winner) {
        return abandon(
          `no qualifying bid from a provider other than the ${chosen.size} already chosen`,
          new BaseError(
            ErrorCode.NoBids,
            `replicated job ${mainJob} found ${chosen.size} of the ${k} distinct providers it needs`,
            {
              hint: `each replica needs its own provider: lower k, raise price.maxPerFuel, or try again when more providers are online (${auctioned.noBids.message})`,
              details: { k, found: chosen.size, bidsReceived },
            },
          ),
        )
      }
      r.winner = auctioned.winner
      chosen.add(auctioned.winner.provider.toLowerCase())
    }
  } catch (err) {
    await abandon(
      'the auctions were interrupted',
      new BaseError(ErrorCode.Aborted, describeError(err)),
    ).catch((cleanup: unknown) =>
      host.logger.warn({ jobId: mainJob.toString(), err: describeError(cleanup) }, 'escrows not cancelled'),
    )
    throw err
  }
  host.db?.requesterJobs.update(mainJob, { step: 'awarding', bidsReceived, gasUsed })
  // The first winner's bid waited through the later auctions: it must still be good to award.
  const now = await chain.nowSeconds()
  if (replicas.some((r) => BigInt(r.winner!.expiry) <= now + AWARD_MARGIN_SECONDS)) {
    return abandon(
      'a chosen bid expired before every replica had a provider',
      new BaseError(
        ErrorCode.NoBids,
        `a bid chosen for replicated job ${mainJob} expired during the auctions`,
        {
          hint: 'every escrow was refunded; submit the job again (shorter deadlines.biddingMs helps)',
        },
      ),
    )
  }

  // Awards back to back, then the case at once: the court refuses a replica already revealed,
  // so nobody is told of its award (the notice) before the case holds every replica. A provider
  // that finds its award on-chain first still needs a fetch, a run and two transactions.
  const awardTxs: Hex[] = []
  for (const r of replicas) {
    const winner = r.winner!
    const pricePerFuel = BigInt(winner.pricePerFuel)
    const awarded = await chain.award({
      jobId: r.jobId,
      provider: winner.provider,
      pricePerFuel,
      expiry: BigInt(winner.expiry),
      signature: winner.signature as Hex,
    })
    gasUsed += awarded.gasUsed
    awardTxs.push(awarded.hash)
    host.prices.record({
      jobId: r.jobId,
      provider: winner.provider,
      resourceClass: resourceClass(requirementsOf(job.descriptor)),
      pricePerFuel,
      timeSeconds: BigInt(Math.floor(Date.now() / 1000)),
    })
    // The peer id goes on the stored timeline: a restarted requester fetches the result from it.
    emit({
      type: 'awarded',
      jobId: r.jobId,
      provider: winner.provider,
      pricePerFuel,
      bids: bidsReceived,
      providerPeerId: winner.providerPeerId,
    })
  }
  const jobIds = replicas.map((r) => r.jobId)
  const courtInit = {
    court: host.court,
    onEvent: (event: JobEvent) => emit(event),
    pollMs: host.pollMs,
    ...(signal ? { signal } : {}),
  }
  const opened = await openReplicated(courtInit, jobIds)
  gasUsed += opened.gasUsed
  host.db?.requesterJobs.update(mainJob, { step: 'awarded', auditCaseId: opened.caseId, gasUsed })
  for (const [i, r] of replicas.entries()) {
    const winner = r.winner!
    const ack = await network
      .request(
        winner.providerPeerId,
        PROTOCOL_AWARD,
        { type: 'award', jobId: r.jobId.toString(), txHash: awardTxs[i]! },
        awardReplySchema,
        signal ? { signal } : {},
      )
      .catch((err: unknown) => ({
        type: 'award-reply' as const,
        accepted: false,
        reason: describeError(err),
      }))
    if (!ack.accepted)
      host.logger.warn(
        { jobId: r.jobId.toString(), reason: ack.reason },
        'provider did not acknowledge award',
      )
  }

  return finishReplicated(
    host,
    {
      mainJob,
      caseId: opened.caseId,
      specHash: job.specHash,
      descriptor: job.descriptor,
      escrowEach,
      gasUsed,
      bidsReceived,
    },
    replicas.map((r) => ({ ...r, winner: r.winner! })),
    emit,
    signal,
  )
}

/**
 * Continues a replicated job after a requester restart, from its stored record and timeline
 * (docs/reliability.md). Once the case holds the replicas (step `awarded`: the `replicas-linked`
 * and `awarded` events name every replica, its winner and where to reach it) the job goes on
 * where it stopped: wait, settle, verify. Interrupted before that, the replicas still open are
 * cancelled and refunded; a replica already awarded outside a case cannot be verified any more,
 * so the job ends with a typed error naming what is left (reclaimable after its deadline).
 */
export async function resumeReplicated(
  host: ReplicatedHost,
  stored: Pick<
    StoredRequesterJob,
    'jobId' | 'step' | 'descriptor' | 'escrow' | 'gasUsed' | 'bidsReceived' | 'auditCaseId'
  >,
  emit: (event: JobEvent) => void,
  signal: AbortSignal | undefined,
): Promise<JobOutcome> {
  const { chain } = host
  const verification = stored.descriptor.verification
  if (verification.mode !== 'replicated') throw new TypeError('not a replicated job')
  const events = host.db?.requesterJobs.events<JobEvent>(stored.jobId) ?? []
  const linked = events.find((e) => e.type === 'replicas-linked')
  const escrowEach = stored.escrow / BigInt(verification.k)
  host.logger.info({ jobId: stored.jobId.toString(), step: stored.step }, 'resuming replicated job')
  if (linked?.type === 'replicas-linked' && stored.auditCaseId !== undefined) {
    const seen = (type: JobEvent['type'], jobId: bigint) =>
      events.some((e) => e.type === type && e.jobId === jobId)
    const replicas: LinkedReplica[] = []
    for (const jobId of linked.jobIds) {
      const awarded = events.find((e) => e.type === 'awarded' && e.jobId === jobId)
      const onChain = await chain.getJob(jobId)
      replicas.push({
        jobId,
        winner: {
          provider: onChain.provider,
          pricePerFuel: onChain.pricePerFuel.toString(),
          providerPeerId: awarded?.type === 'awarded' ? (awarded.providerPeerId ?? '') : '',
        },
        committed: seen('committed', jobId),
        revealed: seen('revealed', jobId),
        expired: seen('refunded', jobId),
      })
    }
    return finishReplicated(
      host,
      {
        mainJob: stored.jobId,
        caseId: stored.auditCaseId,
        specHash: (await chain.getJob(stored.jobId)).specHash,
        descriptor: stored.descriptor,
        escrowEach,
        gasUsed: stored.gasUsed,
        bidsReceived: stored.bidsReceived,
      },
      replicas,
      emit,
      signal,
    )
  }
  // Before the case: cancel what is still open; what was awarded cannot be linked any more.
  let gasUsed = stored.gasUsed
  let refunded = 0n
  const stranded: bigint[] = []
  for (const e of events) {
    if (e.type !== 'created') continue
    const status = (await chain.getJob(e.jobId)).status
    if (status === 'Open') {
      gasUsed += (await chain.cancelJob(e.jobId)).gasUsed
      refunded += escrowEach
      emit({
        type: 'refunded',
        jobId: e.jobId,
        reason: 'the requester restarted before the replicas were linked',
      })
    } else if (status === 'Cancelled' || status === 'Expired') {
      refunded += escrowEach
    } else {
      stranded.push(e.jobId)
    }
  }
  const error =
    stranded.length === 0
      ? new BaseError(
          ErrorCode.Aborted,
          `replicated job ${stored.jobId} was interrupted by a requester restart before its replicas were linked`,
          {
            hint: 'every escrow was refunded; submit the job again',
          },
        )
      : new BaseError(
          ErrorCode.Aborted,
          `replicated job ${stored.jobId} was interrupted by a requester restart between its awards and its case`,
          {
            hint: `the open replicas were refunded; replicas ${stranded.join(', ')} were awarded outside a case and cannot be verified: reclaim each after its deadline (reclaimExpired) unless its provider delivers`,
            details: { stranded: stranded.map(String) },
          },
        )
  if (stranded.length > 0) throw error
  return {
    jobId: stored.jobId,
    status: 'refunded',
    escrow: stored.escrow,
    fuelUsed: 0n,
    paid: 0n,
    refunded,
    gasUsed,
    bidsReceived: stored.bidsReceived,
    error: error.toJSON(),
  }
}

/** A replica once awarded: who won it, and what the requester has seen of it so far. */
interface LinkedReplica {
  jobId: bigint
  winner: Pick<BidMessageWire, 'provider' | 'pricePerFuel' | 'providerPeerId'>
  committed: boolean
  revealed: boolean
  expired: boolean
}

/** A replicated job whose replicas the court holds in one case. */
interface LinkedCase {
  mainJob: bigint
  caseId: bigint
  specHash: Hex
  descriptor: JobDescriptor
  escrowEach: bigint
  gasUsed: bigint
  bidsReceived: number
}

/**
 * The rest of a replicated job once its case holds every replica: waits until each has revealed
 * or expired (a late one is reclaimed: refund + slash), has the court settle the case (driving a
 * dispute to the referees' verdict), then fetches and verifies one upheld replica's result.
 * Shared by a running job and one resumed after a requester restart.
 */
async function finishReplicated(
  host: ReplicatedHost,
  linked: LinkedCase,
  replicas: LinkedReplica[],
  emit: (event: JobEvent) => void,
  signal: AbortSignal | undefined,
): Promise<JobOutcome> {
  const { chain, network } = host
  const { mainJob, escrowEach, bidsReceived } = linked
  let gasUsed = linked.gasUsed
  const escrow = escrowEach * BigInt(replicas.length)
  const base = { jobId: mainJob, escrow, fuelUsed: 0n, paid: 0n, refunded: 0n }
  const jobIds = replicas.map((r) => r.jobId)
  const courtInit = {
    court: host.court,
    onEvent: (event: JobEvent) => emit(event),
    pollMs: host.pollMs,
    ...(signal ? { signal } : {}),
  }
  // Wait until every replica has revealed or expired (a late one is reclaimed: refund + slash).
  for (;;) {
    let pending = 0
    for (const r of replicas) {
      if (r.revealed || r.expired) continue
      const onChain = await chain.getJob(r.jobId)
      if ((onChain.status === 'Committed' || onChain.status === 'Revealed') && !r.committed) {
        r.committed = true
        emit({ type: 'committed', jobId: r.jobId })
      }
      if (onChain.status === 'Revealed') {
        r.revealed = true
        emit({ type: 'revealed', jobId: r.jobId, fuelUsed: onChain.fuelUsed })
        continue
      }
      if (onChain.status === 'Expired' || onChain.status === 'Cancelled') {
        r.expired = true
        emit({ type: 'refunded', jobId: r.jobId, reason: 'the replica expired on-chain' })
        continue
      }
      const now = bigMax(await chain.nowSeconds(), BigInt(Math.floor(Date.now() / 1000)))
      if (now > onChain.executionDeadline) {
        gasUsed += await reclaim(chain, r.jobId)
        r.expired = true
        emit({
          type: 'refunded',
          jobId: r.jobId,
          reason: `provider ${r.winner?.provider} missed the deadline: escrow refunded, collateral slashed`,
        })
        continue
      }
      pending++
    }
    if (pending === 0) break
    await sleep(host.pollMs, signal)
  }

  const settled = await settleReplicated(courtInit, linked.caseId, jobIds, () => escrowEach)
  gasUsed += settled.gasUsed
  emit({ type: 'finalized', jobId: mainJob, paid: settled.paid, refunded: settled.refunded })
  const replicaOutcomes = replicas.map((r, i) => ({
    ...settled.replicas[i]!,
    provider: r.winner!.provider,
    pricePerFuel: BigInt(r.winner!.pricePerFuel),
  }))
  const settledPart = {
    ...base,
    paid: settled.paid,
    refunded: settled.refunded,
    gasUsed,
    bidsReceived,
    replicas: replicaOutcomes,
  }
  if (settled.verdict !== 'agreed' && settled.verdict !== 'verified') {
    return { ...settledPart, status: 'refunded', error: failure(settled, mainJob).toJSON() }
  }

  // Fetch and check one upheld replica's result (all upheld ones revealed the same hash).
  const upheld = replicas.find((_r, i) => settled.replicas[i]?.status === 'upheld')!
  const winner = upheld.winner!
  const onChain = await chain.getJob(upheld.jobId)
  const common = {
    ...settledPart,
    provider: winner.provider as Address,
    pricePerFuel: BigInt(winner.pricePerFuel),
    fuelUsed: onChain.fuelUsed,
  }
  let receipt: ResultReceipt
  let output: Uint8Array | undefined
  try {
    const fetchResult = (cid: string, options?: { maxBytes: number }) =>
      retryUntil(() => network.fetch(winner.providerPeerId, cid, options), {
        untilMs: Date.now() + RESULT_RETRY_MS,
        ...(signal ? { signal } : {}),
      })
    receipt = decodeMessage(
      resultReceiptSchema,
      await fetchResult(bytes32ToCid(onChain.resultHash)),
      'result receipt',
    )
    if (
      !receiptIsFor(receipt, { jobId: upheld.jobId.toString(), specHash: linked.specHash }) ||
      BigInt(receipt.fuelUsed) !== onChain.fuelUsed
    ) {
      throw new BaseError(ErrorCode.InvalidMessage, 'receipt does not match the replicated job or its fuel')
    }
    if (receipt.status === 'ok') {
      output = await fetchResult(receipt.outputCid, { maxBytes: linked.descriptor.limits.outputBytes })
      await host.store.putVerified(receipt.outputCid, output)
      emit({ type: 'verified', jobId: upheld.jobId, outputBytes: output.length })
    }
  } catch (err) {
    host.logger.warn({ jobId: mainJob.toString(), err: describeError(err) }, 'result could not be fetched')
    const error =
      err instanceof BaseError ? err : new BaseError(ErrorCode.Internal, describeError(err), { cause: err })
    return { ...common, status: 'unverified', error: error.toJSON() }
  }
  return {
    ...common,
    status: receipt.status === 'ok' ? 'completed' : 'failed',
    receipt,
    ...(output ? { output } : {}),
    ...(receipt.status === 'error'
      ? { error: { code: receipt.errorCode, message: receipt.errorMessage } }
      : {}),
  }
}

/** The typed error of a replicated job that ended without an upheld result. */
export function failure(settled: Pick<ReplicatedOutcome, 'verdict'>, jobId: bigint): BaseError {
  switch (settled.verdict) {
    case 'undetermined':
      return new BaseError(
        ErrorCode.Undetermined,
        `verification (replicated) of job ${jobId} reached no verdict`,
        {
          hint: 'no referee majority: nothing was paid and every escrow refunded; submit the job again',
        },
      )
    case 'none-revealed':
      return new BaseError(ErrorCode.Timeout, `no replica of job ${jobId} was delivered in time`, {
        hint: 'every escrow was refunded and the providers slashed; submit the job again',
      })
    default:
      return new BaseError(
        ErrorCode.VerificationFailed,
        `verification (replicated) found every revealed result of job ${jobId} wrong: their providers were slashed`,
        { hint: 'nothing was paid and every escrow refunded; submit the job again' },
      )
  }
}

/** Reclaims a replica past its deadline; the chain's clock may trail this one by a second or so. */
async function reclaim(chain: MarketChain, jobId: bigint): Promise<bigint> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await chain.reclaimExpired(jobId)).gasUsed
    } catch (err) {
      if (!(err instanceof ChainError && err.errorName === 'JobMarket__NotExpired') || attempt >= 60)
        throw err
      await sleep(1_000)
    }
  }
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

/** A bid this close to its expiry is not awarded: the award transaction must land before it. */
const AWARD_MARGIN_SECONDS = 5n

/** How long a paid replica's result is fetched for before the job is reported unverified. */
const RESULT_RETRY_MS = 30_000
