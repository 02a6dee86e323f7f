/**
 * Peer penalties over real libp2p: peers that send garbage on the bid stream, invalid
 * requests on the data stream, or forged signed offers on gossip are disconnected and refused
 * for a cool-down, while an honest peer keeps being served.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  bidReplySchema,
  bidStreamMessageSchema,
  cidOf,
  encodeMessage,
  marketDomain,
  type OfferMessage,
  offerToWire,
  offerTypedMessage,
  offerTypes,
  PROTOCOL_BID,
  PROTOCOL_DATA,
  TOPIC_OFFERS,
} from '@bazaar/protocol'
import { multiaddr } from '@multiformats/multiaddr'
import pino from 'pino'
import { type Address, bytesToHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { NetworkServices } from '../network-services.ts'
import { createNetworkServices } from '../network-services-libp2p.ts'
import { fetchContent } from './content-transfer.ts'
import { type BazaarHost, createBazaarHost } from './create-host.ts'
import { encodeFrame } from './framed-stream.ts'
import { sendRequest } from './request-response.ts'

const THRESHOLD = 3
const chainId = 31337
const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address
const providerKey = privateKeyToAccount(bytesToHex(randomBytes(32)) as Hex)

async function waitUntil(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 25))
  assert.ok(done(), `timed out waiting for ${what}`)
}

function offer(peerId: string, sequence: bigint): OfferMessage {
  const now = BigInt(Math.floor(Date.now() / 1000))
  return {
    provider: providerKey.address,
    peerId,
    cores: 2,
    memoryMb: 512,
    gpus: [],
    runtimes: ['wasm'],
    floorPricePerFuel: 1_000n,
    stake: 100n,
    region: '',
    attributes: [],
    issuedAt: now,
    expiry: now + 60n,
    sequence,
  }
}

describe('misbehaving peers are penalized; honest ones keep being served', () => {
  let node: NetworkServices
  let honest: BazaarHost
  const attackers: BazaarHost[] = []
  const offersDelivered: string[] = []
  const blob = new TextEncoder().encode('module bytes')
  let blobCid: string

  before(async () => {
    blobCid = await cidOf(blob)
    node = await createNetworkServices({
      logger: pino({ level: 'silent' }),
      lookupContent: async (cid) => (cid === blobCid ? blob : undefined),
      onJobAnnouncement: () => {},
      onOffer: (o) => offersDelivered.push(o.peerId),
      offerDomain: { chainId, market },
      penalties: { threshold: THRESHOLD, windowMs: 60_000, coolDownMs: 600_000 },
      handlers: [
        {
          protocol: PROTOCOL_BID,
          schema: bidStreamMessageSchema,
          handle: async () => ({ type: 'bid-reply', accepted: true }),
        },
      ],
    })
    honest = await createBazaarHost()
  })

  after(async () => {
    for (const h of [honest, ...attackers]) await h?.stop()
    await node?.stop()
  })

  const nodeAddr = () => multiaddr(node.multiaddrs()[0]!)
  const attacker = async () => {
    const host = await createBazaarHost({ gossipHeartbeatMs: 100 })
    attackers.push(host)
    await host.dial(nodeAddr())
    return host
  }
  const serveHonest = async () => {
    const reply = await sendRequest(
      honest,
      nodeAddr(),
      PROTOCOL_BID,
      {
        type: 'bid-decline',
        jobId: '1',
        provider: providerKey.address,
        providerPeerId: honest.peerId.toString(),
        reason: 'busy',
        detail: 'honest answer',
      },
      bidReplySchema,
    )
    assert.deepEqual(reply, { type: 'bid-reply', accepted: true })
    assert.deepEqual(await fetchContent(honest, nodeAddr(), blobCid), blob)
  }
  const refused = async (host: BazaarHost) => {
    const id = host.peerId.toString()
    await waitUntil('the ban', () => node.isBanned(id))
    // Disconnected, and a new connection is refused during the cool-down.
    await waitUntil('the hang-up', () => host.getConnections().length === 0)
    await assert.rejects(host.dialProtocol(nodeAddr(), PROTOCOL_BID, { signal: AbortSignal.timeout(10_000) }))
  }

  it('bans a peer that sends garbage on the bid stream', async () => {
    const bad = await attacker()
    const before = node.misbehaviour().reports['bid-stream']
    const bodies = [
      new TextEncoder().encode('not json {'),
      encodeMessage({ type: 'bid', jobId: 'x' }),
      new TextEncoder().encode('[]'),
    ]
    for (const body of bodies) {
      const stream = await bad.dialProtocol(nodeAddr(), PROTOCOL_BID)
      stream.send(encodeFrame(body))
      await stream.close().catch(() => undefined)
    }
    await refused(bad)
    assert.equal(node.misbehaviour().reports['bid-stream'] - before, THRESHOLD)
    await serveHonest()
  })

  it('bans a peer that sends invalid requests on the data stream', async () => {
    const bad = await attacker()
    for (let i = 0; i < THRESHOLD; i++) {
      const stream = await bad.dialProtocol(nodeAddr(), PROTOCOL_DATA)
      stream.send(encodeFrame(encodeMessage({ type: 'data-request', cid: `not-a-cid-${i}` })))
      await stream.close().catch(() => undefined)
    }
    await refused(bad)
    assert.equal(node.misbehaviour().reports['data-stream'], THRESHOLD)
    await serveHonest()
  })

  it('bans a peer that gossips forged signed offers, and still delivers genuine ones', async () => {
    const bad = await attacker()
    const pubsub = bad.services.pubsub
    pubsub.subscribe(TOPIC_OFFERS)
    await waitUntil('the node in the offer topic', () =>
      pubsub.getSubscribers(TOPIC_OFFERS).some((p) => p.toString() === node.peerId),
    )
    // A genuine offer, signed by its provider, is delivered.
    const genuine = offer(bad.peerId.toString(), 1n)
    const signature = await providerKey.signTypedData({
      domain: marketDomain(chainId, market),
      types: offerTypes,
      primaryType: 'Offer',
      message: offerTypedMessage(genuine),
    })
    await pubsub.publish(TOPIC_OFFERS, encodeMessage(offerToWire({ ...genuine, signature }, chainId, market)))
    await waitUntil('the genuine offer', () => offersDelivered.includes(bad.peerId.toString()))
    const gossipBefore = node.misbehaviour().reports.gossip
    // Then forgeries: well-formed, but the signature is not the provider's.
    for (let i = 0; i < THRESHOLD; i++) {
      const forged = {
        ...offer(bad.peerId.toString(), 10n + BigInt(i)),
        signature: bytesToHex(randomBytes(65)),
      }
      await pubsub.publish(TOPIC_OFFERS, encodeMessage(offerToWire(forged, chainId, market)))
    }
    await refused(bad)
    assert.equal(node.misbehaviour().reports.gossip - gossipBefore, THRESHOLD)
    assert.equal(offersDelivered.length, 1, 'no forged offer was delivered')
    await serveHonest()
  })

  it('counts it all for /metrics', () => {
    const stats = node.misbehaviour()
    assert.equal(stats.bans, 3)
    assert.equal(stats.banned, 3)
    assert.equal(node.isBanned(honest.peerId.toString()), false)
  })
})
