import { Counter, Gauge, type Registry } from 'prom-client'
import type { MisbehaviourKind, PeerPenaltiesStats } from './peer-penalties.ts'

/**
 * Prometheus view of the peer penalties, read at scrape time:
 * `bazaar_peer_bad_messages_total{kind}`, `bazaar_peer_bans_total`, `bazaar_peers_banned`.
 * The API's metrics registry calls this with `() => network.misbehaviour()`.
 */
export function registerMisbehaviourMetrics(registry: Registry, stats: () => PeerPenaltiesStats): void {
  new Counter({
    name: 'bazaar_peer_bad_messages_total',
    help: 'Malformed or forged messages received from peers, by where they came in',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [kind, count] of Object.entries(stats().reports) as [MisbehaviourKind, number][]) {
        this.inc({ kind }, count)
      }
    },
  })
  new Counter({
    name: 'bazaar_peer_bans_total',
    help: 'Peers banned for misbehaviour (disconnected and refused for a cool-down)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(stats().bans)
    },
  })
  new Gauge({
    name: 'bazaar_peers_banned',
    help: 'Peers serving a misbehaviour ban right now',
    registers: [registry],
    collect() {
      this.set(stats().banned)
    },
  })
}
