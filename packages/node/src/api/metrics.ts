import { Gauge, Registry } from 'prom-client'
import type { JobTracker } from '../requester/job-tracker.ts'

/** Prometheus metrics of the node's API, in a registry of its own (several nodes can share a process). */
export function createApiMetrics(tracker: JobTracker) {
  const registry = new Registry()
  new Gauge({
    name: 'bazaar_jobs',
    help: 'Jobs known to this node by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset()
      for (const job of tracker.list()) this.inc({ state: job.state })
    },
  })
  return { render: () => registry.metrics(), contentType: registry.contentType }
}
