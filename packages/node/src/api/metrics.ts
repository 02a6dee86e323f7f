import { Counter, Gauge, Registry } from 'prom-client'
import { registerMisbehaviourMetrics } from '../net/misbehaviour-metrics.ts'
import type { PeerPenaltiesStats } from '../net/peer-penalties.ts'
import type { ProviderService } from '../provider/provider-service.ts'
import type { JobTracker } from '../requester/job-tracker.ts'
import {
  registerVoucherMetrics,
  type VoucherProviderMetricsSource,
  type VoucherRequesterMetricsSource,
} from '../vouchers/voucher-metrics.ts'

export interface ApiMetricsSources {
  /** Requester role: jobs by state. */
  tracker?: JobTracker
  /** Provider role: jobs by phase. */
  provider?: ProviderService
  /** This node's token balance in base units (read at scrape time). */
  balance?: () => Promise<bigint>
  /** Labels of `bazaar_node_info`. */
  info?: () => Record<string, string>
  /** Garbage received from peers and the bans it earned (read at scrape time). */
  misbehaviour?: () => PeerPenaltiesStats
  /** The voucher path's two sides (docs/vouchers.md), when this node has them. */
  vouchers?: { requester?: VoucherRequesterMetricsSource; provider?: VoucherProviderMetricsSource }
}

/** Prometheus metrics of the node, in a registry of its own (several nodes can share a process). */
export function createApiMetrics(sources: ApiMetricsSources | JobTracker) {
  const s: ApiMetricsSources = 'list' in sources ? { tracker: sources } : sources
  const registry = new Registry()
  if (s.info) {
    const labels = s.info()
    new Gauge({
      name: 'bazaar_node_info',
      help: 'Always 1; labels say what this node is',
      labelNames: Object.keys(labels),
      registers: [registry],
    }).set(labels, 1)
  }
  if (s.tracker) {
    const tracker = s.tracker
    new Gauge({
      name: 'bazaar_jobs',
      help: 'Jobs submitted through this node (requester role), by state',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [state, n] of tracker.countByState()) this.set({ state }, n)
      },
    })
  }
  if (s.provider) {
    const provider = s.provider
    new Gauge({
      name: 'bazaar_provider_jobs',
      help: 'Jobs this provider bid on or ran, by phase',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        this.reset()
        // From the database (ended jobs leave memory), plus declines that were never written.
        for (const [phase, n] of provider.jobs.countByPhase()) this.set({ phase }, n)
      },
    })
    new Counter({
      name: 'bazaar_provider_blobs_deleted_total',
      help: 'Outputs and receipts of long-settled jobs deleted by the retention sweep',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(provider.blobsDeleted.blobs)
      },
    })
    new Counter({
      name: 'bazaar_provider_blob_bytes_deleted_total',
      help: 'Bytes of the blobs the retention sweep deleted',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(provider.blobsDeleted.bytes)
      },
    })
  }
  if (s.balance) {
    const balance = s.balance
    new Gauge({
      name: 'bazaar_token_balance',
      help: "This node's compute-token balance in whole tokens (from the chain at scrape time)",
      registers: [registry],
      async collect() {
        // A scrape must not fail because the chain is slow: keep the last value then.
        const units = await balance().catch(() => undefined)
        if (units !== undefined) this.set(Number(units / 10n ** 12n) / 1e6)
      },
    })
  }
  if (s.misbehaviour) registerMisbehaviourMetrics(registry, s.misbehaviour)
  if (s.vouchers) registerVoucherMetrics(registry, s.vouchers)
  return { render: () => registry.metrics(), contentType: registry.contentType }
}
