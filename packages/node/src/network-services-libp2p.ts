import {
  type JobAnnouncement,
  type OfferWire,
  offerWireSchema,
  PROTOCOL_AWARD,
  PROTOCOL_BID,
  TOPIC_OFFERS,
  type VoucherDisputeMessage,
} from '@bazaar/protocol'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { Address } from 'viem'
import type { z } from 'zod'
import { fetchContent, serveContent } from './net/content-transfer.ts'
import { createBazaarHost } from './net/create-host.ts'
import { createJobGossip } from './net/job-gossip.ts'
import { createOfferVerifier } from './net/offer-verifier.ts'
import { type MisbehaviourKind, PeerPenalties, type PeerPenaltiesInit } from './net/peer-penalties.ts'
import { handleRequests, sendRequest } from './net/request-response.ts'
import { createTopicGossip, type GossipVerdict } from './net/topic-gossip.ts'
import { createVoucherDisputeGossip } from './net/voucher-dispute-gossip.ts'
import type { NetworkServices } from './network-services.ts'
import { sleep } from './sleep.ts'

export interface RequestHandler<Req> {
  protocol: string
  schema: z.ZodType<Req>
  handle: (request: Req) => Promise<object>
}

export interface NetworkServicesInit {
  listen?: string[]
  bootstrap?: string[]
  /** The node's libp2p identity (kept in its data dir so its peer id survives restarts); fresh when omitted. */
  privateKey?: PrivateKey
  logger: Logger
  lookupContent: (cid: string) => Promise<Uint8Array | undefined>
  onJobAnnouncement: (announcement: JobAnnouncement) => void
  /** Offers whose claimed peer is their signed sender; the signature over the offer is the caller's to check. */
  onOffer: (offer: OfferWire) => void
  /** A peer started listening for offers: a provider republishes so it need not wait. */
  onOfferSubscriber?: () => void
  /** Jobs of disputed voucher claims from the voucher-dispute topic (untrusted: see the referee). */
  onVoucherDispute?: (message: VoucherDisputeMessage) => void
  /** Checks a voucher-dispute message further (e.g. its claim on-chain) before it is delivered or relayed. */
  verifyVoucherDispute?: (message: VoucherDisputeMessage) => Promise<GossipVerdict>
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different request types live in one list
  handlers: RequestHandler<any>[]
  /**
   * The market whose offers this node relays: offers for it must carry their provider's
   * signature (forgeries are rejected at the gossip validator and count against the sender),
   * offers for other markets are dropped. Without it offers are checked by schema only.
   */
  offerDomain?: { chainId: number; market: Address }
  /** When a peer is banned for sending garbage (threshold, window, cool-down). */
  penalties?: PeerPenaltiesInit
  /** TEST ONLY: stall every blob served halfway (see ServeContentOptions.testStallMs). */
  testStallServeMs?: number
  /**
   * TEST ONLY (the fault-injection e2e; never set in production): every this many ms, close
   * every connection this node has, mid-stream or not, as a flaky network would.
   */
  testDropConnectionsEveryMs?: number
  /**
   * TEST ONLY (the fault-injection e2e): this node answers every request and serves every blob
   * this many ms late, as a slow link or an overloaded peer would.
   */
  testDelayAnswersMs?: number
}

const streamKind = (protocol: string): MisbehaviourKind =>
  protocol === PROTOCOL_BID ? 'bid-stream' : protocol === PROTOCOL_AWARD ? 'award-stream' : 'request-stream'

/** NetworkServices over a libp2p host: protocols registered, gossip joined. */
export async function createNetworkServices(init: NetworkServicesInit): Promise<NetworkServices> {
  // A peer that keeps sending garbage is disconnected and refused for a cool-down: it costs
  // us a parse per message, and honest peers never send any (they validate before sending).
  const penalties = new PeerPenalties(init.penalties)
  const isBanned = (peer: PeerId) => penalties.isBanned(peer.toString())
  const penalize = (kind: MisbehaviourKind) => (err: Error, context: { peerId: PeerId }) => {
    penalties.report(context.peerId.toString(), kind, err.message)
  }
  const delay = init.testDelayAnswersMs ?? 0
  const slowly =
    <A extends unknown[], R>(answer: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (delay > 0) await sleep(delay)
      return answer(...args)
    }
  const host = await createBazaarHost({
    ...(init.listen ? { listen: init.listen } : {}),
    ...(init.bootstrap ? { bootstrap: init.bootstrap } : {}),
    ...(init.privateKey ? { privateKey: init.privateKey } : {}),
    logger: init.logger,
    denyPeer: isBanned,
    appSpecificScore: (peer) => penalties.appScore(peer),
  })
  penalties.onBan((ban) => {
    init.logger.warn(
      { peer: ban.peer, kind: ban.kind, reason: ban.reason, until: new Date(ban.until).toISOString() },
      'peer banned for misbehaviour',
    )
    host.hangUp(peerIdFromString(ban.peer)).catch((err: unknown) => {
      init.logger.debug({ peer: ban.peer, err: String(err) }, 'hang up on banned peer failed')
    })
  })
  const unregister: (() => Promise<void>)[] = []
  try {
    unregister.push(
      await serveContent(host, slowly(init.lookupContent), {
        logger: init.logger,
        isBanned,
        onInvalidRequest: penalize('data-stream'),
        ...(init.testStallServeMs ? { testStallMs: init.testStallServeMs } : {}),
      }),
    )
    for (const handler of init.handlers) {
      unregister.push(
        await handleRequests(host, handler.protocol, handler.schema, slowly(handler.handle), {
          logger: init.logger,
          isBanned,
          onInvalidRequest: penalize(streamKind(handler.protocol)),
        }),
      )
    }
  } catch (err) {
    await host.stop()
    throw err
  }
  const onInvalidGossip = (from: PeerId, err: Error) =>
    penalties.report(from.toString(), 'gossip', err.message)
  const gossip = createJobGossip(host, {
    onAnnouncement: (announcement) => init.onJobAnnouncement(announcement),
    onInvalid: onInvalidGossip,
    isBanned,
    logger: init.logger,
  })
  const offers = createTopicGossip(host, {
    topic: TOPIC_OFFERS,
    schema: offerWireSchema,
    what: 'offer',
    originOf: (offer) => offer.peerId,
    onMessage: (offer) => init.onOffer(offer),
    onSubscriber: () => init.onOfferSubscriber?.(),
    ...(init.offerDomain ? { verify: createOfferVerifier(init.offerDomain) } : {}),
    onInvalid: onInvalidGossip,
    isBanned,
    logger: init.logger,
  })
  // Every node relays (the mesh needs them); only those given a handler keep the jobs.
  const disputes = createVoucherDisputeGossip(host, {
    onDispute: (message) => init.onVoucherDispute?.(message),
    ...(init.verifyVoucherDispute ? { verify: init.verifyVoucherDispute } : {}),
    onInvalid: onInvalidGossip,
    isBanned,
    logger: init.logger,
  })
  const dropper = init.testDropConnectionsEveryMs
    ? setInterval(() => {
        const connections = host.getConnections()
        init.logger.warn({ connections: connections.length }, 'test: dropping every connection')
        for (const connection of connections) connection.abort(new Error('test: connection dropped'))
      }, init.testDropConnectionsEveryMs)
    : undefined
  dropper?.unref()
  return {
    peerId: host.peerId.toString(),
    multiaddrs: () => host.multiaddrs().map((addr) => addr.toString()),
    request: (peer, protocol, message, schema, options) =>
      sendRequest(host, peerIdFromString(peer), protocol, message, schema, options),
    peers: () => host.getPeers().map((peer) => peer.toString()),
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
    async publishVoucherDispute(message) {
      await disputes.publish(message)
    },
    waitForJobSubscribers: (min, options) => gossip.waitForSubscribers(min, options),
    misbehaviour: () => penalties.stats,
    isBanned: (peer) => penalties.isBanned(peer),
    async stop() {
      clearInterval(dropper)
      gossip.stop()
      offers.stop()
      disputes.stop()
      for (const off of unregister) await off().catch(() => undefined)
      await host.stop()
    },
  }
}
