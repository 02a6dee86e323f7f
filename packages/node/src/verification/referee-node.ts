import {
  type BazaarContracts,
  createVerificationCourt,
  createVoucherVault,
  type VerificationCourt,
} from '@bazaar/chain'
import { cidToBytes32, describeError, encodeReceipt, type JobAnnouncement } from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type Address, type Hex, zeroAddress } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import type { WasmRunner } from '../provider/provider-service.ts'
import type { AnnouncementCache } from './announcement-cache.ts'
import {
  RefereeDuty,
  type RefereeDutyStore,
  type RefereeEvent,
  type VoucherClaimSource,
} from './referee-duty.ts'
import { runForVerdict } from './run-for-verdict.ts'
import type { VoucherDisputeJob, VoucherDisputeJobs } from './voucher-dispute-jobs.ts'
import { Watcher, type WatcherEvent } from './watcher.ts'

export interface RefereeNodeInit {
  contracts: BazaarContracts
  court: Address
  chain: MarketChain
  network: NetworkServices
  store: ContentStore
  runner: WasmRunner
  announcements: AnnouncementCache
  logger: Logger
  pollMs?: number
  onEvent?(event: RefereeEvent): void
  /** Where duties and their salts are kept across restarts. */
  duties?: RefereeDutyStore
  /** Chance of re-checking each optimistic job's revealed result (0: never watch). */
  watchProbability?: number
  onWatcherEvent?(event: WatcherEvent): void
  /**
   * Jobs of disputed voucher claims as requesters sent them: with it, this node also judges the
   * claims of the court's VoucherVault (read from the court).
   */
  voucherDisputes?: VoucherDisputeJobs
}

/**
 * A provider's referee and auditor duty, wired: joins the court's pool (approving exactly the
 * bond) when it is eligible and not a member yet, and re-executes drawn jobs with the
 * provider's own runner, fetching module and inputs from the job's requester like a bid winner
 * would. The receipt is stored, so the requester or other referees can fetch it by its hash.
 */
export async function startRefereeDuty(
  init: RefereeNodeInit,
): Promise<{ duty: RefereeDuty; watcher: Watcher | undefined; court: VerificationCourt }> {
  const { chain, network, store, logger } = init
  const court = createVerificationCourt(init.contracts, init.court)
  await joinPool(court, init.contracts, chain, logger)
  const reexecute = async (announcement: JobAnnouncement, signal: AbortSignal) => {
    const peer = announcement.requesterPeerId
    await network.rememberPeer(peer, announcement.requesterAddrs)
    const receipt = await runForVerdict(init.runner, {
      jobId: announcement.jobId,
      job: announcement.job,
      fetch: (cid) => network.fetch(peer, cid, { signal }),
      store,
      signal,
    })
    const receiptCid = await store.put(encodeReceipt(receipt))
    return { resultHash: cidToBytes32(receiptCid) as Hex, fuelUsed: BigInt(receipt.fuelUsed) }
  }
  const voucherClaims = init.voucherDisputes
    ? await voucherClaimSource(init, court, init.voucherDisputes)
    : undefined
  const duty = new RefereeDuty({
    court,
    me: chain.address,
    announcements: init.announcements,
    specHashOf: async (jobId) => (await chain.getJob(jobId)).specHash,
    reexecute,
    blockNumber: () => chain.blockNumber(),
    logger,
    ...(init.pollMs ? { pollMs: init.pollMs } : {}),
    ...(init.onEvent ? { onEvent: init.onEvent } : {}),
    ...(init.duties ? { duties: init.duties } : {}),
    ...(voucherClaims ? { voucherClaims } : {}),
  })
  await duty.start()
  let watcher: Watcher | undefined
  if ((init.watchProbability ?? 0) > 0) {
    watcher = new Watcher({
      court,
      me: chain.address,
      announcements: init.announcements,
      specHashOf: async (jobId) => (await chain.getJob(jobId)).specHash,
      reexecute,
      blockNumber: () => chain.blockNumber(),
      watchProbability: init.watchProbability ?? 0,
      logger,
      ...(init.pollMs ? { pollMs: init.pollMs } : {}),
      ...(init.onWatcherEvent ? { onEvent: init.onWatcherEvent } : {}),
    })
    await watcher.start()
  }
  return { duty, watcher, court }
}

/**
 * The court's voucher claims as a referee sees them: the claim from the court's vault, its job
 * from what requesters and providers sent (matched to the claim's signed job id, spec hash and
 * fuel limit), re-executed with this provider's runner under that job id (the receipt names it and
 * is seeded by it). The module and inputs come from the requester, or from the claim's provider
 * (which fetched them to run the job) when the requester does not serve them.
 */
async function voucherClaimSource(
  init: RefereeNodeInit,
  court: VerificationCourt,
  disputes: VoucherDisputeJobs,
): Promise<VoucherClaimSource | undefined> {
  const { network, store, logger } = init
  let vaultAddress: Address
  try {
    vaultAddress = await court.voucherVault()
  } catch (err) {
    logger.warn({ err: describeError(err) }, 'could not read the court vault: voucher claims not judged')
    return undefined
  }
  if (vaultAddress === zeroAddress) return undefined
  const vault = createVoucherVault(init.contracts, vaultAddress)
  return {
    claimOf: (claimId) => vault.claimOf(claimId),
    jobsOf: (claimId) => disputes.get(claimId),
    async reexecute(job: VoucherDisputeJob, signal: AbortSignal) {
      const { announcement, providerPeerId } = job
      const requesterPeer = announcement.requesterPeerId
      await network.rememberPeer(requesterPeer, announcement.requesterAddrs)
      const receipt = await runForVerdict(init.runner, {
        jobId: announcement.jobId,
        job: announcement.job,
        fetch: async (cid) => {
          try {
            return await network.fetch(requesterPeer, cid, { signal })
          } catch (err) {
            if (!providerPeerId || signal.aborted) throw err
            return network.fetch(providerPeerId, cid, { signal })
          }
        },
        store,
        signal,
      })
      const receiptCid = await store.put(encodeReceipt(receipt))
      return { resultHash: cidToBytes32(receiptCid) as Hex, fuelUsed: BigInt(receipt.fuelUsed) }
    },
  }
}

async function joinPool(
  court: VerificationCourt,
  contracts: BazaarContracts,
  chain: MarketChain,
  logger: Logger,
) {
  try {
    if ((await court.memberOf(chain.address)).active) return
    if (!(await chain.isEligible(chain.address))) {
      logger.warn({}, 'not eligible (stake below the minimum or jailed): not joining the referee pool')
      return
    }
    const { refereeBond } = await court.config()
    if ((await contracts.balanceOf(chain.address)) < refereeBond) {
      logger.warn(
        { bond: refereeBond.toString() },
        'cannot afford the referee bond: not joining the referee pool',
      )
      return
    }
    await court.approve(refereeBond)
    await court.joinPool()
    logger.info({ bond: refereeBond.toString() }, 'joined the referee pool')
  } catch (err) {
    logger.warn({ err: describeError(err) }, 'could not join the referee pool')
  }
}
