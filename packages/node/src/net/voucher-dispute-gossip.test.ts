/**
 * The voucher-dispute topic (docs/vouchers.md) on real libp2p hosts over 127.0.0.1: a disputed
 * claim's job published by its requester, or by its provider, reaches every other node, including
 * nodes the publisher has no direct link to; garbage, oversized messages and messages whose signed
 * sender is neither party are rejected in validation (not delivered, counted against the sender);
 * a failed `verify` drops the message. The store that keeps the jobs keeps one copy of each.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { encodeMessage, TOPIC_VOUCHER_DISPUTES, type VoucherDisputeMessage } from '@bazaar/protocol'
import type { PeerId } from '@libp2p/interface'
import type { Hex } from 'viem'
import { VoucherDisputeJobs } from '../verification/voucher-dispute-jobs.ts'
import { testAnnouncement } from './announcement-fixture.ts'
import { type BazaarHost, createBazaarHost } from './create-host.ts'
import { createVoucherDisputeGossip, type VoucherDisputeGossip } from './voucher-dispute-gossip.ts'

const announcement = testAnnouncement

const claim = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex

function dispute(n: number, requesterPeerId: string, providerPeerId?: string): VoucherDisputeMessage {
  return {
    type: 'voucher-dispute',
    claimId: claim(n),
    announcement: announcement(requesterPeerId, String(1000 + n)),
    ...(providerPeerId ? { providerPeerId } : {}),
  }
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('voucher-dispute gossip', () => {
  const hosts: BazaarHost[] = []
  const gossips: VoucherDisputeGossip[] = []
  const stores: VoucherDisputeJobs[] = []
  const invalidFrom: string[][] = []
  /** Claims whose messages `verify` drops (as a node that finds no such dispute on-chain). */
  const unknownClaims = new Set<string>([claim(99)])

  before(async () => {
    // A star around a seed: nodes 1..3 reach each other only through it (and the mesh it forms).
    const seed = await createBazaarHost({ gossipHeartbeatMs: 100 })
    hosts.push(seed)
    const bootstrap = [seed.multiaddrs()[0]!.toString()]
    hosts.push(
      ...(await Promise.all([1, 2, 3].map(() => createBazaarHost({ bootstrap, gossipHeartbeatMs: 100 })))),
    )
    for (const host of hosts) {
      const store = new VoucherDisputeJobs()
      const invalid: string[] = []
      stores.push(store)
      invalidFrom.push(invalid)
      gossips.push(
        createVoucherDisputeGossip(host, {
          onDispute: (message) => store.remember(message),
          verify: (message) => (unknownClaims.has(message.claimId) ? 'reject' : 'accept'),
          onInvalid: (from: PeerId) => void invalid.push(from.toString()),
        }),
      )
    }
    await gossips[0]!.waitForSubscribers(3)
    await Promise.all(gossips.slice(1).map((g) => g.waitForSubscribers(1)))
  })

  after(async () => {
    for (const gossip of gossips) gossip.stop()
    await Promise.all(hosts.map((h) => h.stop()))
  })

  const held = (i: number, n: number) => stores[i]!.get(claim(n))

  /**
   * Publishes from node `from` until `arrived` holds. Gossip is best effort (a message published
   * while the mesh is still settling can miss a node), which is why the nodes re-send dispute
   * jobs (the requester up to 8 rounds); a copy that arrives twice is kept once.
   */
  async function publishUntil(
    from: number,
    message: VoucherDisputeMessage,
    arrived: () => boolean,
    what: string,
  ) {
    for (let attempt = 0; attempt < 5 && !arrived(); attempt++) {
      await gossips[from]!.publish(message)
      await eventually(arrived, what, 3_000).catch(() => undefined)
    }
    await eventually(arrived, what, 1)
  }

  it('delivers a dispute job from its requester, and one from its provider, to every other node', async () => {
    const requester = hosts[1]!.peerId.toString()
    const provider = hosts[2]!.peerId.toString()
    const fromRequester = dispute(1, requester, provider)
    await publishUntil(
      1,
      fromRequester,
      () => [0, 2, 3].every((i) => held(i, 1).length === 1),
      'claim 1 at nodes 0, 2, 3',
    )
    assert.deepEqual(held(3, 1)[0], { announcement: fromRequester.announcement, providerPeerId: provider })
    // The provider sends the same job (as it ran it): kept once where it already was.
    await gossips[2]!.publish(fromRequester)
    await publishUntil(
      2,
      dispute(2, requester, provider),
      () => [0, 1, 3].every((i) => held(i, 2).length === 1),
      'claim 2 at nodes 0, 1, 3',
    )
    assert.equal(held(3, 1).length, 1, 'the same job from both parties is kept once')
    assert.equal(held(2, 2).length, 0, 'no echo to the publisher')
  })

  it('rejects garbage, oversized messages and a sender that is neither party; verify drops unknown claims', async () => {
    const publisher = hosts[3]!
    const me = publisher.peerId.toString()
    const pubsub = publisher.services.pubsub
    const invalidBefore = gossips[0]!.stats.invalid
    // Published raw (the topic's own publish refuses all of these).
    await pubsub.publish(TOPIC_VOUCHER_DISPUTES, new TextEncoder().encode('not json'))
    await pubsub.publish(TOPIC_VOUCHER_DISPUTES, encodeMessage({ ...dispute(3, me), claimId: '0x12' }))
    // Neither the announced requester nor the named provider is the signed sender.
    await pubsub.publish(
      TOPIC_VOUCHER_DISPUTES,
      encodeMessage(dispute(4, hosts[1]!.peerId.toString(), hosts[2]!.peerId.toString())),
    )
    // Over the control-message cap (the env values pad it).
    const big = dispute(5, me)
    big.announcement.job.env = Object.fromEntries(
      Array.from({ length: 70 }, (_, i) => [`K${i}`, 'x'.repeat(1_000)]),
    )
    await pubsub.publish(TOPIC_VOUCHER_DISPUTES, encodeMessage(big))
    // Well-formed, from a party, but for a claim the receivers' check does not find.
    await pubsub.publish(TOPIC_VOUCHER_DISPUTES, encodeMessage(dispute(99, me)))
    await assert.rejects(gossips[3]!.publish(dispute(6, hosts[1]!.peerId.toString())), {
      name: 'InvalidMessageError',
    })
    // A valid one after them, on the same connections, gets through.
    await gossips[3]!.publish(dispute(7, me))
    await eventually(() => [0, 1, 2].every((i) => held(i, 7).length === 1), 'claim 7 at nodes 0, 1, 2')
    // The seed is directly connected to the publisher: it saw and rejected all five, blaming it.
    await eventually(() => gossips[0]!.stats.invalid >= invalidBefore + 5, 'five rejections at the seed')
    assert.ok(invalidFrom[0]!.filter((p) => p === me).length >= 5)
    for (const i of [0, 1, 2]) {
      for (const n of [3, 4, 5, 6, 99]) assert.equal(held(i, n).length, 0, `claim ${n} not kept at node ${i}`)
    }
  })
})
