import type { BazaarContracts } from '@bazaar/chain'
import type { ProviderCapacity, ProviderPricing } from '@bazaar/market'
import {
  awardNoticeSchema,
  bidStreamMessageSchema,
  marketDomain,
  offerTypedMessage,
  offerTypes,
  PROTOCOL_AWARD,
  PROTOCOL_BID,
} from '@bazaar/protocol'
import type { Logger } from 'pino'
import { type ContentStore, createMemoryContentStore } from './content-store.ts'
import type { MarketChain } from './market-chain.ts'
import { createMarketChain } from './market-chain-adapter.ts'
import type { NetworkServices } from './network-services.ts'
import { createNetworkServices } from './network-services-libp2p.ts'
import { ProviderService, type WasmRunner } from './provider/provider-service.ts'
import { type RequesterInit, RequesterService } from './requester/requester-service.ts'

export interface BazaarNodeInit {
  name: string
  contracts: BazaarContracts
  logger: Logger
  listen?: string[]
  bootstrap?: string[]
  provider?: { capacity: ProviderCapacity; pricing: ProviderPricing; runner: WasmRunner }
  requester?: RequesterInit
}

export interface BazaarNode {
  readonly name: string
  readonly chain: MarketChain
  readonly network: NetworkServices
  readonly store: ContentStore
  readonly provider: ProviderService | undefined
  readonly requester: RequesterService | undefined
  stop(): Promise<void>
}

/**
 * Wires one node: libp2p host and protocols, content store, chain access, and the roles
 * it plays. The only place where the node's parts meet.
 */
export async function createBazaarNode(init: BazaarNodeInit): Promise<BazaarNode> {
  const logger = init.logger.child({ node: init.name })
  const store = createMemoryContentStore()
  const chain = createMarketChain(init.contracts)
  let provider: ProviderService | undefined
  let requester: RequesterService | undefined

  const network = await createNetworkServices({
    ...(init.listen ? { listen: init.listen } : {}),
    ...(init.bootstrap ? { bootstrap: init.bootstrap } : {}),
    logger,
    lookupContent: (cid) => store.get(cid),
    onOfferSubscriber: () => provider?.republishOfferSoon(),
    onOffer: (offer) => {
      requester?.onOffer(offer).catch((err: unknown) => logger.debug({ err }, 'offer handling failed'))
    },
    onJobAnnouncement: (announcement) => {
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
    ],
  })
  const components = { chain, network, store, logger }
  const { contracts } = init
  if (init.provider) {
    provider = new ProviderService(
      { capacity: init.provider.capacity, pricing: init.provider.pricing },
      {
        ...components,
        runner: init.provider.runner,
        signOffer: (offer) =>
          contracts.clients.account.signTypedData({
            domain: marketDomain(chain.chainId, chain.market),
            types: offerTypes,
            primaryType: 'Offer',
            message: offerTypedMessage(offer),
          }),
        readStake: () => contracts.stakeOf(chain.address),
      },
    )
    provider.startOffers()
  }
  if (init.requester) {
    requester = new RequesterService(init.requester, {
      ...components,
      // On-chain standing: stake, jail and track record from the registry, so selection and
      // explain weigh reputation as the contracts record it. Score is WAD (1e18) on-chain, ppm here.
      standingOf: async (address) => {
        const [account, reputation, eligible] = await Promise.all([
          contracts.accountOf(address),
          contracts.reputationOf(address),
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

  return {
    name: init.name,
    chain,
    network,
    store,
    provider,
    requester,
    async stop() {
      await provider?.stop()
      await network.stop()
    },
  }
}
