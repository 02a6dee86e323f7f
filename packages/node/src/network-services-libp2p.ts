import { type JobAnnouncement, type OfferWire, offerWireSchema, TOPIC_OFFERS } from '@bazaar/protocol'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { z } from 'zod'
import { fetchContent, serveContent } from './net/content-transfer.ts'
import { createBazaarHost } from './net/create-host.ts'
import { createJobGossip } from './net/job-gossip.ts'
import { handleRequests, sendRequest } from './net/request-response.ts'
import { createTopicGossip } from './net/topic-gossip.ts'
import type { NetworkServices } from './network-services.ts'

export interface RequestHandler<Req> {
  protocol: string
  schema: z.ZodType<Req>
  handle: (request: Req) => Promise<object>
}

export interface NetworkServicesInit {
  listen?: string[]
  bootstrap?: string[]
  logger: Logger
  lookupContent: (cid: string) => Promise<Uint8Array | undefined>
  onJobAnnouncement: (announcement: JobAnnouncement) => void
  /** Offers whose claimed peer is their signed sender; the signature over the offer is the caller's to check. */
  onOffer: (offer: OfferWire) => void
  /** A peer started listening for offers: a provider republishes so it need not wait. */
  onOfferSubscriber?: () => void
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different request types live in one list
  handlers: RequestHandler<any>[]
}

/** NetworkServices over a libp2p host: protocols registered, gossip joined. */
export async function createNetworkServices(init: NetworkServicesInit): Promise<NetworkServices> {
  const host = await createBazaarHost({
    ...(init.listen ? { listen: init.listen } : {}),
    ...(init.bootstrap ? { bootstrap: init.bootstrap } : {}),
    logger: init.logger,
  })
  const unregister: (() => Promise<void>)[] = []
  try {
    unregister.push(await serveContent(host, init.lookupContent, { logger: init.logger }))
    for (const handler of init.handlers) {
      unregister.push(
        await handleRequests(host, handler.protocol, handler.schema, (request) => handler.handle(request), {
          logger: init.logger,
        }),
      )
    }
  } catch (err) {
    await host.stop()
    throw err
  }
  const gossip = createJobGossip(host, {
    onAnnouncement: (announcement) => init.onJobAnnouncement(announcement),
    logger: init.logger,
  })
  const offers = createTopicGossip(host, {
    topic: TOPIC_OFFERS,
    schema: offerWireSchema,
    what: 'offer',
    originOf: (offer) => offer.peerId,
    onMessage: (offer) => init.onOffer(offer),
    onSubscriber: () => init.onOfferSubscriber?.(),
    logger: init.logger,
  })
  return {
    peerId: host.peerId.toString(),
    multiaddrs: () => host.multiaddrs().map((addr) => addr.toString()),
    request: (peer, protocol, message, schema, options) =>
      sendRequest(host, peerIdFromString(peer), protocol, message, schema, options),
    async rememberPeer(peer, addrs) {
      const id = peerIdFromString(peer)
      if (id.equals(host.peerId) || addrs.length === 0) return
      const parsed = addrs.flatMap((text) => {
        try {
          return [multiaddr(text)]
        } catch {
          return []
        }
      })
      await host.peerStore.merge(id, { multiaddrs: parsed })
    },
    fetch: (peer, cid, options) => fetchContent(host, peerIdFromString(peer), cid, options),
    async publishJob(announcement) {
      await gossip.publish(announcement)
    },
    async publishOffer(offer) {
      await offers.publish(offer)
    },
    waitForJobSubscribers: (min, options) => gossip.waitForSubscribers(min, options),
    async stop() {
      gossip.stop()
      offers.stop()
      for (const off of unregister) await off().catch(() => undefined)
      await host.stop()
    },
  }
}
