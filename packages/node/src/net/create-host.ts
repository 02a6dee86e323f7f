import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { type Logger, pino } from 'pino'

/**
 * The DHT protocol id. Bazaar runs its own DHT (not the public IPFS one), so the id is ours.
 * TODO(protocol): belongs in @bazaar/protocol's protocol-ids.ts as PROTOCOL_KAD.
 */
export const BAZAAR_KAD_PROTOCOL = '/bazaar/kad/1.0.0'

export type BazaarServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht: KadDHT
}

export interface BazaarHostInit {
  /** Listen multiaddrs; default ['/ip4/127.0.0.1/tcp/0']. */
  listen?: string[]
  /** Bootstrap multiaddrs, each ending in /p2p/<peerId>. */
  bootstrap?: string[]
  /** The node's identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey
  logger?: Logger
  /** Gossipsub heartbeat; default 1000 ms. Local tests may use ~100 ms. */
  gossipHeartbeatMs?: number
  /** Dial peers found by discovery (bootstrap, DHT) while below this many connections; default 8. */
  minConnections?: number
  /** Source IPs exempt from gossipsub's IP-colocation penalty; default loopback. */
  ipColocationWhitelist?: string[]
  /** Peers refused when they connect or we would dial them (e.g. banned for misbehaviour). */
  denyPeer?: (peer: PeerId) => boolean
  /** Gossipsub's app-specific score of a peer (negative for misbehaving peers); default 0. */
  appSpecificScore?: (peer: string) => number
}

/** A started libp2p node with Bazaar's services, plus a few helpers. */
export type BazaarHost = Libp2p<BazaarServices> & {
  readonly logger: Logger
  /** The addresses the node listens on, with /p2p/<peerId> appended. */
  multiaddrs(): Multiaddr[]
}

/**
 * Creates and starts the libp2p host: TCP + noise + yamux, identify, ping, gossipsub and a
 * LAN-friendly kad-dht (server mode, private addresses kept). Defaults are tuned so many
 * peers can share 127.0.0.1 (inbound rate limit raised, loopback exempt from gossipsub's
 * IP-colocation scoring).
 */
export async function createBazaarHost(init: BazaarHostInit = {}): Promise<BazaarHost> {
  const logger = (init.logger ?? pino({ level: 'silent' })).child({ component: 'bazaar:net' })
  // bootstrap waits `timeout` ms after start before dialing; 100 ms is plenty once started
  const peerDiscovery =
    init.bootstrap !== undefined && init.bootstrap.length > 0
      ? [bootstrap({ list: init.bootstrap, timeout: 100 })]
      : []

  const node = await createLibp2p<BazaarServices>({
    ...(init.privateKey === undefined ? {} : { privateKey: init.privateKey }),
    addresses: { listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    ...(init.denyPeer === undefined
      ? {}
      : {
          connectionGater: {
            denyDialPeer: (peer: PeerId) => init.denyPeer!(peer),
            denyInboundEncryptedConnection: (peer: PeerId) => init.denyPeer!(peer),
            denyOutboundEncryptedConnection: (peer: PeerId) => init.denyPeer!(peer),
          },
        }),
    connectionManager: {
      // the default (5 inbound connections per second per IP) refuses local swarms
      inboundConnectionThreshold: 1_000,
      maxIncomingPendingConnections: 100,
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        heartbeatInterval: init.gossipHeartbeatMs ?? 1_000,
        scoreParams: {
          IPColocationFactorWhitelist: new Set(init.ipColocationWhitelist ?? ['127.0.0.1', '::1']),
          ...(init.appSpecificScore === undefined ? {} : { appSpecificScore: init.appSpecificScore }),
        },
      }),
      dht: kadDHT({
        protocol: BAZAAR_KAD_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
      }),
    },
  })

  // Known before start returns, not only when bootstrap's timer fires: a dial by peer id made
  // right after start (a requester resuming a job with the provider it bootstraps from) must
  // find an address, not fall into a DHT lookup (see ensurePeerAddress in request-response.ts).
  for (const addr of init.bootstrap ?? []) {
    const ma = multiaddr(addr)
    const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (id !== undefined) await node.peerStore.merge(peerIdFromString(id), { multiaddrs: [ma] })
  }

  const minConnections = init.minConnections ?? 8
  node.addEventListener('peer:discovery', (evt) => {
    const peer: PeerId = evt.detail.id
    if (peer.equals(node.peerId) || node.getConnections(peer).length > 0) return
    if (node.getConnections().length >= minConnections) return
    node.dial(peer).catch((err: unknown) => {
      logger.debug({ peer: peer.toString(), err: String(err) }, 'dial of discovered peer failed')
    })
  })

  logger.info(
    { peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map((a) => a.toString()) },
    'libp2p host started',
  )
  return Object.assign(node, {
    logger,
    multiaddrs: () => node.getMultiaddrs(),
  })
}
