import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { encodeMessage, type JobAnnouncement, TOPIC_JOBS } from '@bazaar/protocol'
import type { PeerId } from '@libp2p/interface'
import { testAnnouncement } from './announcement-fixture.ts'
import { type BazaarHost, createBazaarHost } from './create-host.ts'
import { createJobGossip, type JobGossip } from './job-gossip.ts'

const announcement = testAnnouncement

async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The host's gossipsub mesh on the jobs topic (the implementation has it; the interface not). */
const meshPeers = (host: BazaarHost) =>
  (host.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(TOPIC_JOBS)

describe('job gossip', () => {
  const hosts: BazaarHost[] = []
  const gossips: JobGossip[] = []
  const received: Array<Array<{ announcement: JobAnnouncement; from: PeerId }>> = []

  before(async () => {
    const seed = await createBazaarHost({ gossipHeartbeatMs: 100 })
    hosts.push(seed)
    const bootstrap = [seed.multiaddrs()[0]!.toString()]
    hosts.push(
      ...(await Promise.all([1, 2, 3].map(() => createBazaarHost({ bootstrap, gossipHeartbeatMs: 100 })))),
    )
    for (const host of hosts) {
      const inbox: Array<{ announcement: JobAnnouncement; from: PeerId }> = []
      received.push(inbox)
      gossips.push(
        createJobGossip(host, { onAnnouncement: (a, from) => void inbox.push({ announcement: a, from }) }),
      )
    }
    await gossips[0]!.waitForSubscribers(3)
    await Promise.all(gossips.slice(1).map((g) => g.waitForSubscribers(1)))
    // Seeing a peer's subscription does not mean our stream to it is open: a message published
    // before that is lost (seen in CI under load). A mesh link (GRAFT exchanged) means it is.
    await eventually(
      () => hosts.every((h, i) => meshPeers(h).length >= (i === 0 ? 3 : 1)),
      'the gossip mesh to form',
    )
  })

  after(async () => {
    for (const gossip of gossips) gossip.stop()
    await Promise.all(hosts.map((h) => h.stop()))
  })

  const jobIds = (i: number) => received[i]!.map((r) => r.announcement.jobId)

  it('delivers an announcement to every other node', async () => {
    const publisher = hosts[1]!
    const sent = announcement(publisher.peerId.toString(), '1')
    const { recipients } = await gossips[1]!.publish(sent)
    assert.ok(recipients >= 1)
    await eventually(() => [0, 2, 3].every((i) => jobIds(i).includes('1')), 'announcement 1 at nodes 0, 2, 3')
    for (const i of [0, 2, 3]) {
      const got = received[i]!.find((r) => r.announcement.jobId === '1')!
      assert.deepEqual(got.announcement, sent)
      assert.ok(got.from.equals(publisher.peerId))
    }
    assert.deepEqual(jobIds(1), [], 'no echo to the publisher (emitSelf off)')
  })

  it('drops invalid announcements before the handler and rejects them in validation', async () => {
    const publisher = hosts[2]!
    const pubsub = publisher.services.pubsub
    const valid = announcement(publisher.peerId.toString(), '2')
    // schema violation, published raw (JobGossip.publish refuses it)
    await pubsub.publish(TOPIC_JOBS, encodeMessage({ ...valid, jobId: 'bad', chainId: -1 }))
    await pubsub.publish(TOPIC_JOBS, new TextEncoder().encode('not json'))
    // well-formed, but names a requester other than the signed origin
    await pubsub.publish(
      TOPIC_JOBS,
      encodeMessage({ ...valid, jobId: '66', requesterPeerId: hosts[3]!.peerId.toString() }),
    )
    await assert.rejects(gossips[2]!.publish({ ...valid, chainId: -1 }), { name: 'InvalidMessageError' })
    // a valid one after them, on the same connections
    await gossips[2]!.publish(valid)
    await eventually(() => [0, 1, 3].every((i) => jobIds(i).includes('2')), 'announcement 2 at nodes 0, 1, 3')
    // the seed is directly connected to the publisher, so it saw and rejected all three
    await eventually(() => gossips[0]!.stats.invalid >= 3, 'three rejections at the seed')
    for (const i of [0, 1, 3]) {
      assert.deepEqual(
        jobIds(i).filter((id) => id !== '1'),
        ['2'],
      )
    }
    assert.equal(gossips[0]!.stats.received, 2)
  })
})
