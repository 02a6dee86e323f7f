/**
 * Gossip propagation: one node publishes job announcements to 30 nodes on 127.0.0.1 (real
 * libp2p: TCP, noise, yamux, gossipsub, kad-dht); latency from publish to arrival at each
 * other node, p50/p95 over every (announcement, receiver) pair, and delivery ratio.
 */

import { type BazaarHost, createBazaarHost } from '@bazaar/node/net/create-host'
import { createJobGossip, type JobGossip } from '@bazaar/node/net/job-gossip'
import type { JobAnnouncement } from '@bazaar/protocol'
import type { BenchSuite } from '../bench-suite.ts'
import { summarize } from '../stats.ts'

const NODES = 30
const MESSAGES = 40

function announcement(requesterPeerId: string, jobId: number): JobAnnouncement {
  return {
    type: 'job-announcement',
    chainId: 31337,
    market: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    jobId: `${jobId}`,
    requester: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
    requesterPeerId,
    specHash: `0x${'ab'.repeat(32)}`,
    job: {
      name: 'bench',
      runtime: 'wasm',
      moduleCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
      args: [],
      env: {},
      inputs: [],
      resources: { cores: 1, memoryMb: 64 },
      limits: { fuel: '1000000', timeoutMs: 5_000, outputBytes: 1024 },
      maxPricePerFuel: '10',
      verification: { mode: 'none' },
    },
    bidDeadline: Date.now() + 60_000,
    requesterAddrs: [],
  }
}

export const gossipSuite: BenchSuite = {
  name: 'gossip',
  async run({ log }) {
    const hosts: BazaarHost[] = []
    const gossips: JobGossip[] = []
    const sentAt = new Map<string, number>()
    const latencies: number[] = []
    let delivered = 0
    try {
      const startedAt = performance.now()
      for (let i = 0; i < NODES; i++) {
        const bootstrap = hosts.slice(0, 3).map((h) => h.multiaddrs()[0]!.toString())
        const host = await createBazaarHost({ bootstrap })
        hosts.push(host)
        gossips.push(
          createJobGossip(host, {
            onAnnouncement: (a) => {
              const t0 = sentAt.get(a.jobId)
              if (t0 === undefined) return
              latencies.push(performance.now() - t0)
              delivered++
            },
          }),
        )
      }
      await gossips[0]!.waitForSubscribers(3, { timeoutMs: 30_000 })
      // Let the mesh settle (a few heartbeats) before measuring.
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      const startupMs = performance.now() - startedAt
      const publisher = hosts[0]!.peerId.toString()
      for (let m = 0; m < MESSAGES; m++) {
        sentAt.set(`${m}`, performance.now())
        await gossips[0]!.publish(announcement(publisher, m))
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      const s = summarize(latencies)
      const expected = MESSAGES * (NODES - 1)
      log.table({
        [`${NODES} nodes, ${MESSAGES} announcements`]: {
          p50_ms: s.p50.toFixed(1),
          p95_ms: s.p95.toFixed(1),
          max_ms: s.max.toFixed(1),
          delivered: `${delivered}/${expected}`,
        },
      })
      log.line(`network start-up (${NODES} hosts + mesh): ${(startupMs / 1000).toFixed(1)} s`)
      return { nodes: NODES, messages: MESSAGES, latencyMs: s, delivered, expected, startupMs }
    } finally {
      for (const g of gossips) g.stop()
      await Promise.all(hosts.map((h) => h.stop()))
    }
  },
}
