import type { JobAnnouncement } from '@bazaar/protocol'

/**
 * The job announcements a node has seen on gossip, by job id, newest kept. A provider drawn as
 * referee or auditor re-executes a job it may never have bid on: the announcement is where it
 * finds the job (descriptor, requester, where to fetch the module and inputs). Bounded: the
 * oldest entry goes when full.
 */
export class AnnouncementCache {
  readonly #entries = new Map<string, JobAnnouncement>()
  readonly #capacity: number

  constructor(capacity = 10_000) {
    this.#capacity = capacity
  }

  remember(announcement: JobAnnouncement): void {
    this.#entries.delete(announcement.jobId)
    this.#entries.set(announcement.jobId, announcement)
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }

  get(jobId: bigint | string): JobAnnouncement | undefined {
    return this.#entries.get(jobId.toString())
  }

  get size(): number {
    return this.#entries.size
  }
}
