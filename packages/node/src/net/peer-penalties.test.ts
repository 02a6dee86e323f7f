import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { registerMisbehaviourMetrics } from './misbehaviour-metrics.ts'
import { BANNED_APP_SCORE, type BanInfo, PeerPenalties } from './peer-penalties.ts'

describe('PeerPenalties', () => {
  const setup = () => {
    let now = 1_000_000
    const penalties = new PeerPenalties({ threshold: 3, windowMs: 1_000, coolDownMs: 10_000, now: () => now })
    const bans: BanInfo[] = []
    penalties.onBan((ban) => bans.push(ban))
    return { penalties, bans, advance: (ms: number) => (now += ms) }
  }

  it('bans a peer after threshold bad messages within the window, once', () => {
    const { penalties, bans } = setup()
    assert.equal(penalties.report('a', 'bid-stream', 'not json'), false)
    assert.equal(penalties.report('a', 'data-stream'), false)
    assert.equal(penalties.isBanned('a'), false)
    assert.equal(penalties.appScore('a'), -2)
    assert.equal(penalties.report('a', 'gossip', 'forged offer'), true)
    assert.equal(penalties.isBanned('a'), true)
    assert.equal(penalties.appScore('a'), BANNED_APP_SCORE)
    assert.equal(penalties.report('a', 'gossip'), false, 'already banned: not banned again')
    assert.deepEqual(
      bans.map((b) => [b.peer, b.kind, b.reason]),
      [['a', 'gossip', 'forged offer']],
    )
    assert.deepEqual(penalties.stats, {
      reports: { 'bid-stream': 1, 'award-stream': 0, 'request-stream': 0, 'data-stream': 1, gossip: 2 },
      bans: 1,
      banned: 1,
    })
    assert.equal(penalties.isBanned('b'), false, 'other peers are untouched')
  })

  it('forgets bad messages older than the window', () => {
    const { penalties, advance } = setup()
    penalties.report('a', 'bid-stream')
    penalties.report('a', 'bid-stream')
    advance(1_001)
    assert.equal(penalties.report('a', 'bid-stream'), false)
    assert.equal(penalties.appScore('a'), -1)
    assert.equal(penalties.isBanned('a'), false)
  })

  it('lifts the ban after the cool-down, with a clean slate', () => {
    const { penalties, advance } = setup()
    for (let i = 0; i < 3; i++) penalties.report('a', 'bid-stream')
    advance(9_999)
    assert.equal(penalties.isBanned('a'), true)
    advance(1)
    assert.equal(penalties.isBanned('a'), false)
    assert.equal(penalties.appScore('a'), 0)
    assert.equal(penalties.stats.banned, 0)
    assert.equal(penalties.report('a', 'bid-stream'), false, 'one new report is not a ban')
  })

  it('bounds the peers it tracks and refuses nonsense settings', () => {
    const penalties = new PeerPenalties({ threshold: 2, maxTracked: 2 })
    penalties.report('a', 'gossip')
    penalties.report('b', 'gossip')
    penalties.report('c', 'gossip') // forgets a
    assert.equal(penalties.report('a', 'gossip'), false)
    assert.equal(penalties.report('c', 'gossip'), true)
    assert.throws(() => new PeerPenalties({ threshold: 0 }), { name: 'NetConfigError' })
  })
})

describe('misbehaviour metrics', () => {
  it('renders the penalty counts for Prometheus', async () => {
    const penalties = new PeerPenalties({ threshold: 2 })
    const registry = new Registry()
    registerMisbehaviourMetrics(registry, () => penalties.stats)
    penalties.report('a', 'bid-stream')
    penalties.report('a', 'gossip')
    penalties.report('b', 'data-stream')
    const text = await registry.metrics()
    assert.match(text, /bazaar_peer_bad_messages_total\{kind="bid-stream"\} 1/)
    assert.match(text, /bazaar_peer_bad_messages_total\{kind="gossip"\} 1/)
    assert.match(text, /bazaar_peer_bad_messages_total\{kind="data-stream"\} 1/)
    assert.match(text, /bazaar_peer_bans_total 1/)
    assert.match(text, /bazaar_peers_banned 1/)
  })
})
