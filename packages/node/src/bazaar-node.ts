import {
  type BazaarContracts,
  createVerificationCourt,
  createVoucherVault,
  throughOutage,
} from '@bazaar/chain'
import type { ProviderCapacity, ProviderPricing } from '@bazaar/market'
import {
  awardNoticeSchema,
  bidStreamMessageSchema,
  describeError,
  marketDomain,
  offerTypedMessage,
  offerTypes,
  PROTOCOL_AWARD,
  PROTOCOL_BID,
  PROTOCOL_VOUCHER,
  voucherStreamMessageSchema,
} from '@bazaar/protocol'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'

import { type ContentStore, createPersistentContentStore } from './content-store.ts'
import type { MarketChain } from './market-chain.ts'
import { createMarketChain } from './market-chain-adapter.ts'
import { createMarketPriceFeed, type MarketPriceFeed, type MarketPriceFeedInit } from './market-price-feed.ts'
import type { NetworkServices } from './network-services.ts'
import { createNetworkServices } from './network-services-libp2p.ts'
import { ProviderService, type WasmRunner } from './provider/provider-service.ts'
import { type RequesterInit, RequesterService } from './requester/requester-service.ts'
import { type NodeStore, openNodeStore } from './store/node-store.ts'
import { AnnouncementCache } from './verification/announcement-cache.ts'
import type { RefereeDuty, RefereeEvent } from './verification/referee-duty.ts'
import { startRefereeDuty } from './verification/referee-node.ts'
import { VoucherDisputeJobs } from './verification/voucher-dispute-jobs.ts'
import type { Watcher, WatcherEvent } from './verification/watcher.ts'
import { VoucherProvider, type VoucherProviderInit } from './vouchers/voucher-provider.ts'
import { VoucherRequester, type VoucherRequesterInit } from './vouchers/voucher-requester.ts'

/**
 * Chance a provider re-executes any one optimistic job to look for a fault. With n providers
 * watching, some watcher checks a job with probability 1 - 0.9^n (docs/verification.md).
 */
export const DEFAULT_WATCH_PROBABILITY = 0.1

export interface BazaarNodeInit {
  name: string
  contracts: BazaarContracts
  logger: Logger
  listen?: string[]
  bootstrap?: string[]
  /** libp2p identity; a fresh one when omitted (the daemon keeps one in its data dir). */
  peerKey?: PrivateKey
  provider?: {
    capacity: ProviderCapacity
    pricing: ProviderPricing
    runner: WasmRunner
    /** TEST ONLY (see ProviderInit): a pause between commit and reveal, for crash tests. */
    testPauseBeforeRevealMs?: number
    /** Payment collection (see ProviderInit); defaults 30 s and 60 s. */
    collectIntervalMs?: number
    collectGraceSeconds?: bigint
    /**
     * Hours a job stays settled on-chain before its output and receipt may be deleted
     * (provider/blob-retention.ts; default 24, 0 keeps them forever).
     */
    blobRetentionHours?: number
  }
  /**
   * Where the node keeps its database (`node.db`, docs/reliability.md). Without it the database
   * is in memory: same behaviour, forgotten on exit.
   */
  dataDir?: string
  /** TEST ONLY (the fault-injection e2e): every blob this node serves stalls halfway this long. */
  testStallServeMs?: number
  /** TEST ONLY (the fault-injection e2e): all of this node's connections are dropped this often. */
  testDropConnectionsEveryMs?: number
  /** TEST ONLY (the fault-injection e2e): every request answered and blob served this late. */
  testDelayAnswersMs?: number
  requester?: RequesterInit
  /** The chain-fed price index (every award on the market); defaults poll once a second. */
  priceFeed?: MarketPriceFeedInit
  /**
   * The VerificationCourt (docs/verification.md). With it a requester can run audited jobs, and
   * a provider joins the referee pool (unless `referee` is false) and serves when drawn.
   */
  court?: {
    address: `0x${string}`
    referee?: boolean
    pollMs?: number
    onRefereeEvent?(event: RefereeEvent): void
    /** Chance a provider re-checks each optimistic job's result (default 0.1; 0 never watches). */
    watchProbability?: number
    onWatcherEvent?(event: WatcherEvent): void
  }
  /**
   * The voucher path (docs/vouchers.md). A provider with it takes voucher-paid jobs; a requester
   * with `payment: 'voucher'` pays its jobs (verification `none`) by vouchers instead of a
   * JobMarket escrow per job. Default payment: 'onchain'.
   */
  vouchers?: {
    vault: `0x${string}`
    payment?: 'onchain' | 'voucher'
    requester?: Partial<VoucherRequesterInit>
    provider?: Partial<VoucherProviderInit>
  }
}

/** Voucher path defaults: 10 BZR per escrow top-up, 10 BZR of unvouchered work per requester. */
export const DEFAULT_VOUCHER_DEPOSIT = 10n * 10n ** 18n
export const DEFAULT_VOUCHER_EXPOSURE_CAP = 10n * 10n ** 18n

export interface BazaarNode {
  readonly name: string
  readonly chain: MarketChain
  readonly network: NetworkServices
  readonly store: ContentStore
  /** The node's persistent state (jobs, blobs, salts, peers). */
  readonly db: NodeStore
  readonly provider: ProviderService | undefined
  readonly requester: RequesterService | undefined
  readonly prices: MarketPriceFeed
  /** Referee and auditor duty, on providers with a court. */
  readonly referee: RefereeDuty | undefined
  /** Optimistic jobs' watcher, on providers with a court that watch. */
  readonly watcher: Watcher | undefined
  /** The voucher path's roles (docs/vouchers.md), when the node was given a vault. */
  readonly vouchers: { provider?: VoucherProvider; requester?: VoucherRequester }
  stop(): Promise<void>
}

/**
 * Wires one node: libp2p host and protocols, content store, chain access, and the roles
 * it plays. The only place where the node's parts meet.
 */
export async function createBazaarNode(init: BazaarNodeInit): Promise<BazaarNode> {
  const logger = init.logger.child({ node: init.name })
  const db = openNodeStore(init.dataDir ? { dataDir: init.dataDir } : {})
  const store = createPersistentContentStore(db.blobs)
  const chain = createMarketChain(init.contracts)
  const prices = createMarketPriceFeed(init.priceFeed ?? {}, { chain, logger })
  let provider: ProviderService | undefined
  let requester: RequesterService | undefined
  let referee: RefereeDuty | undefined
  let watcher: Watcher | undefined
  const vouchers: { provider?: VoucherProvider; requester?: VoucherRequester } = {}
  // Jobs seen on gossip, for re-executing one when drawn as referee or auditor.
  const announcements = new AnnouncementCache()
  // Jobs of disputed voucher claims, sent by their requesters, for when this node is drawn.
  const voucherDisputes = new VoucherDisputeJobs()
  // Only a provider with a court can be drawn, so only it keeps them (a referee checks each
  // against the claim on-chain); it also checks gossiped ones against the vault before keeping
  // or relaying them: the claim must exist (else the sender made it up) and be disputed now.
  const keepsDisputes = Boolean(init.provider && init.court)
  const disputeVault =
    keepsDisputes && init.vouchers ? createVoucherVault(init.contracts, init.vouchers.vault) : undefined

  const network = await createNetworkServices({
    ...(init.listen ? { listen: init.listen } : {}),
    ...(init.bootstrap ? { bootstrap: init.bootstrap } : {}),
    ...(init.peerKey ? { privateKey: init.peerKey } : {}),
    logger,
    // Offer signatures are checked at gossip by the nodes that use offers (requesters).
    ...(init.requester ? { offerDomain: { chainId: chain.chainId, market: chain.market } } : {}),
    lookupContent: (cid) => store.get(cid),
    ...(init.testStallServeMs ? { testStallServeMs: init.testStallServeMs } : {}),
    ...(init.testDropConnectionsEveryMs
      ? { testDropConnectionsEveryMs: init.testDropConnectionsEveryMs }
      : {}),
    ...(init.testDelayAnswersMs ? { testDelayAnswersMs: init.testDelayAnswersMs } : {}),
    onOfferSubscriber: () => provider?.republishOfferSoon(),
    // The same store as the direct message below: gossip reaches pool members no party knows.
    ...(keepsDisputes ? { onVoucherDispute: (message) => voucherDisputes.remember(message) } : {}),
    ...(disputeVault
      ? {
          verifyVoucherDispute: async (message) => {
            try {
              const claim = await disputeVault.claimOf(message.claimId)
              return claim.status === 'None' ? 'reject' : claim.status === 'Disputed' ? 'accept' : 'ignore'
            } catch (err) {
              // Our chain read failed, not the sender: drop without blame.
              logger.debug({ err: describeError(err) }, 'voucher dispute not checked: chain read failed')
              return 'ignore'
            }
          },
        }
      : {}),
    onOffer: (offer) => {
      requester?.onOffer(offer).catch((err: unknown) => logger.debug({ err }, 'offer handling failed'))
    },
    onJobAnnouncement: (announcement) => {
      prices.learn(announcement)
      announcements.remember(announcement)
      provider?.onAnnouncement(announcement).catch((err: unknown) => logger.error({ err }, 'bidding failed'))
    },
    handlers: [
      {
        protocol: PROTOCOL_BID,
        schema: bidStreamMessageSchema,
        handle: async (bid) =>
          requester
            ? requester.onBid(bid)
            : { type: 'bid-reply', accepted: false, reason: 'this node is not a requester' },
      },
      {
        protocol: PROTOCOL_AWARD,
        schema: awardNoticeSchema,
        handle: async (notice) => ({
          type: 'award-reply',
          ...(provider
            ? await provider.onAwardNotice(notice)
            : { accepted: false, reason: 'this node is not a provider' }),
        }),
      },
      {
        protocol: PROTOCOL_VOUCHER,
        schema: voucherStreamMessageSchema,
        handle: async (message) => {
          if (message.type === 'voucher-dispute') {
            // Kept only where it can serve: a referee checks it against the claim on-chain.
            if (keepsDisputes) voucherDisputes.remember(message)
            return { type: 'voucher-reply', accepted: true }
          }
          if (message.type === 'voucher-result') {
            return vouchers.requester
              ? vouchers.requester.onResult(message)
              : {
                  type: 'voucher-reply',
                  accepted: false,
                  code: 'wrong-party',
                  reason: 'not a voucher requester',
                }
          }
          return vouchers.provider
            ? vouchers.provider.onMessage(message)
            : {
                type: 'voucher-reply',
                accepted: false,
                code: 'wrong-party',
                reason: 'not a voucher provider',
              }
        },
      },
    ],
  })
  const components = { chain, network, store, logger }
  const { contracts } = init
  if (init.provider) {
    provider = new ProviderService(
      {
        capacity: init.provider.capacity,
        pricing: init.provider.pricing,
        ...(init.provider.testPauseBeforeRevealMs
          ? { testPauseBeforeRevealMs: init.provider.testPauseBeforeRevealMs }
          : {}),
        ...(init.provider.collectIntervalMs ? { collectIntervalMs: init.provider.collectIntervalMs } : {}),
        ...(init.provider.collectGraceSeconds !== undefined
          ? { collectGraceSeconds: init.provider.collectGraceSeconds }
          : {}),
      },
      {
        ...components,
        db,
        runner: init.provider.runner,
        signOffer: (offer) =>
          contracts.clients.account.signTypedData({
            domain: marketDomain(chain.chainId, chain.market),
            types: offerTypes,
            primaryType: 'Offer',
            message: offerTypedMessage(offer),
          }),
        readStake: () => contracts.stakeOf(chain.address),
        prices: () => prices.snapshot(),
      },
    )
    provider.startOffers()
    provider.startCollecting()
    const retentionHours = init.provider.blobRetentionHours ?? 24
    if (retentionHours > 0) {
      provider.startBlobRetention({
        db,
        retentionMs: retentionHours * 3_600_000,
        chainStatus: async (jobId) => (await chain.getJob(jobId)).status,
      })
    }
    // Jobs a previous run of this node left unfinished: reveal, re-run or give up, per the chain.
    await provider.resume()
  }
  if (init.requester) {
    const court = init.court ? createVerificationCourt(contracts, init.court.address) : undefined
    // The court takes audit fees from this signer; approved once, for good.
    if (court) await court.approve(2n ** 255n)
    requester = new RequesterService(init.requester, {
      ...components,
      db,
      prices,
      ...(court ? { court } : {}),
      // On-chain standing: stake, jail and track record from the registry, so selection and
      // explain weigh reputation as the contracts record it. Score is WAD (1e18) on-chain, ppm here.
      standingOf: async (address) => {
        const [account, reputation, eligible] = await Promise.all([
          throughOutage(() => contracts.accountOf(address)),
          throughOutage(() => contracts.reputationOf(address)),
          chain.isEligible(address),
        ])
        return {
          stake: account.staked,
          jailed: !eligible || account.jailedUntil > BigInt(Math.floor(Date.now() / 1000)),
          reputation: {
            completed: reputation.completed,
            // Every on-chain failure is a slash (ProviderRegistry.slash counts it), so it gets
            // the policy's slash weight rather than being counted twice.
            failed: 0n,
            slashed: reputation.failed,
            score: reputation.score / 1_000_000_000_000n,
          },
        }
      },
    })
  }

  if (init.provider && init.court && init.court.referee !== false) {
    ;({ duty: referee, watcher } = await startRefereeDuty({
      contracts,
      court: init.court.address,
      ...components,
      runner: init.provider.runner,
      announcements,
      voucherDisputes,
      duties: db.refereeDuties,
      ...(init.court.pollMs ? { pollMs: init.court.pollMs } : {}),
      ...(init.court.onRefereeEvent ? { onEvent: init.court.onRefereeEvent } : {}),
      watchProbability: init.court.watchProbability ?? DEFAULT_WATCH_PROBABILITY,
      ...(init.court.onWatcherEvent ? { onWatcherEvent: init.court.onWatcherEvent } : {}),
    }))
  }

  if (init.vouchers) {
    const vault = createVoucherVault(contracts, init.vouchers.vault)
    if (provider && init.provider) {
      vouchers.provider = new VoucherProvider(
        { exposureCap: DEFAULT_VOUCHER_EXPOSURE_CAP, ...init.vouchers.provider },
        {
          vault,
          ...(init.court ? { court: createVerificationCourt(contracts, init.court.address) } : {}),
          provider,
          network,
          store,
          runner: init.provider.runner,
          vouchers: db.vouchers,
          transaction: (fn) => db.transaction(fn),
          logger: logger.child({ role: 'voucher-provider' }),
        },
      )
      // Held vouchers and claims of a previous run are redeemed and pursued from here.
      await vouchers.provider.start()
    }
    if (requester && init.vouchers.payment === 'voucher') {
      vouchers.requester = new VoucherRequester(
        { depositAmount: DEFAULT_VOUCHER_DEPOSIT, ...init.vouchers.requester },
        {
          requester,
          vault,
          ...(init.court ? { court: createVerificationCourt(contracts, init.court.address) } : {}),
          network,
          store,
          vouchers: db.vouchers,
          jobs: db.requesterJobs,
          transaction: (fn) => db.transaction(fn),
          logger: logger.child({ role: 'voucher-requester' }),
        },
      )
      // Runs, resumes after a restart, and describes the jobs it pays.
      requester.usePaymentPath(vouchers.requester)
      // Claims providers file against this requester are checked, and disputed when wrong.
      await vouchers.requester.start()
    }
  }

  // A provider learns of its awards from the chain too, not only from the requester's notice.
  if (provider) {
    const winner = provider
    prices.onAward = (award) => winner.onChainAward(award)
  }
  prices.start()
  return {
    name: init.name,
    chain,
    network,
    store,
    db,
    provider,
    requester,
    prices,
    referee,
    watcher,
    vouchers,
    async stop() {
      await vouchers.provider?.stop()
      await vouchers.requester?.stop()
      await watcher?.stop()
      await referee?.stop()
      await prices.stop()
      await provider?.stop()
      await network.stop()
      db.close()
    },
  }
}
