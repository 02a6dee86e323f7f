import { type BazaarContracts, createVerificationCourt, type VerificationCourt } from '@bazaar/chain'
import { cidToBytes32, describeError, encodeReceipt, type JobAnnouncement } from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import { runJob } from '../provider/job-runner.ts'
import type { WasmRunner } from '../provider/provider-service.ts'
import type { AnnouncementCache } from './announcement-cache.ts'
import { RefereeDuty, type RefereeDutyStore, type RefereeEvent } from './referee-duty.ts'
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
    const receipt = await runJob(init.runner, {
      jobId: announcement.jobId,
      job: announcement.job,
      fetch: (cid) => network.fetch(peer, cid, { signal }),
      store,
      signal,
    })
    const receiptCid = await store.put(encodeReceipt(receipt))
    return { resultHash: cidToBytes32(receiptCid) as Hex, fuelUsed: BigInt(receipt.fuelUsed) }
  }
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
