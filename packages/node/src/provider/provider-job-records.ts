import { isVoucherJobId } from '@bazaar/protocol'
import type { ProviderJobRepo, ProviderJobSummary } from '../store/provider-job-repo.ts'
import type { ProviderJobPhase, ProviderJobRecord } from './provider-service.ts'

/** Every phase a provider job can be in (the API validates `?phase=` against it). */
export const PROVIDER_JOB_PHASES = [
  'bid',
  'declined',
  'awarded',
  'running',
  'committed',
  'revealed',
  'finalized',
  'closed',
  'failed',
  'lost',
] as const satisfies readonly ProviderJobPhase[]

/** Phases nothing in the node acts on again: such records may leave memory. */
const TERMINAL: readonly ProviderJobPhase[] = ['declined', 'finalized', 'closed', 'failed', 'lost']

/** A record ends when its phase is terminal; a voucher job's `revealed` is its end on this side. */
export function isTerminalRecord(record: Pick<ProviderJobRecord, 'jobId' | 'phase'>): boolean {
  return (
    TERMINAL.includes(record.phase) ||
    (record.phase === 'revealed' && isVoucherJobId(record.jobId.toString()))
  )
}

export interface ProviderJobRecordsInit {
  /** The node database's provider jobs: terminal records are read from there once evicted. */
  repo?: Pick<ProviderJobRepo, 'get' | 'list' | 'countByPhase'> | undefined
  /** How long a terminal record stays in memory with a database (default 60 s). */
  lingerMs?: number
  /** Most terminal records kept in memory (default 1,000); without a database, the ring. */
  maxTerminal?: number
  now?: () => number
}

/** A provider job as shown by the API: the in-memory record, with when it last changed. */
export type ListedProviderJob = ProviderJobRecord & { updatedAt: number }

/**
 * A provider's job records, bounded in memory (docs/reliability.md). Jobs still in play stay in
 * memory; a terminal record lingers for `lingerMs` (a test or a late notice may look at it),
 * at most `maxTerminal` of them, then is read from the database. Without a database the
 * `maxTerminal` most recent terminal records are all that is kept. Reads fall back to the
 * database, so callers see the same answers as when everything stayed in memory.
 */
export class ProviderJobRecords {
  readonly #live = new Map<string, ListedProviderJob>()
  /** Terminal records, in the order they ended (oldest first). */
  readonly #terminal = new Map<string, ListedProviderJob>()
  /** Declines never written to the database (a first decline leaves nothing to resume). */
  readonly #unsaved = new Set<string>()
  #unsavedDeclines = 0
  readonly #repo: ProviderJobRecordsInit['repo']
  readonly #lingerMs: number
  readonly #maxTerminal: number
  readonly #now: () => number

  constructor(init: ProviderJobRecordsInit = {}) {
    this.#repo = init.repo
    this.#lingerMs = init.lingerMs ?? 60_000
    this.#maxTerminal = init.maxTerminal ?? 1_000
    this.#now = init.now ?? Date.now
  }

  /** The record in memory, else (with a database) as stored; never the salt. */
  get(key: string): ProviderJobRecord | undefined {
    const held = this.#live.get(key) ?? this.#terminal.get(key)
    if (held || !this.#repo) return held
    const stored = this.#repo.get(BigInt(key))
    if (!stored) return undefined
    return {
      jobId: stored.jobId,
      phase: stored.phase as ProviderJobPhase,
      ...(stored.pricePerFuel !== undefined ? { pricePerFuel: stored.pricePerFuel } : {}),
      ...(stored.reason !== undefined ? { reason: stored.reason } : {}),
      ...(stored.fuelUsed !== undefined ? { fuelUsed: stored.fuelUsed } : {}),
    }
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  /**
   * Sets a job's record. `persisted`: whether the caller wrote it to the database too (a first
   * decline is not); records that are not cannot be read back once they leave memory.
   */
  set(key: string, record: ProviderJobRecord, persisted = true): this {
    const listed = { ...record, updatedAt: this.#now() }
    if (persisted) {
      if (this.#unsaved.delete(key)) this.#unsavedDeclines--
    } else if (record.phase === 'declined' && !this.#unsaved.has(key)) {
      this.#unsaved.add(key)
      this.#unsavedDeclines++
    }
    this.#live.delete(key)
    this.#terminal.delete(key)
    if (isTerminalRecord(record)) this.#terminal.set(key, listed)
    else this.#live.set(key, listed)
    this.#prune()
    return this
  }

  /** Records in memory: every job in play, and the terminal ones still lingering. */
  values(): IterableIterator<ListedProviderJob> {
    return [...this.#live.values(), ...this.#terminal.values()].values()
  }

  /** Records in memory (jobs in play and lingering terminal ones). */
  get size(): number {
    return this.#live.size + this.#terminal.size
  }

  /**
   * The most recently changed jobs first, at most `limit`, optionally in one phase: from the
   * database (with memory's fresher view of jobs in play), or from memory without one.
   */
  list(options: { limit: number; phase?: ProviderJobPhase | undefined }): ListedProviderJob[] {
    const { limit, phase } = options
    const byKey = new Map<string, ListedProviderJob>()
    for (const row of this.#repo?.list({ limit, phase }) ?? []) {
      byKey.set(row.jobId.toString(), fromSummary(row))
    }
    for (const record of this.values()) {
      const key = record.jobId.toString()
      if (phase !== undefined && record.phase !== phase) {
        byKey.delete(key) // the database row is older than memory's view
        continue
      }
      byKey.set(key, record)
    }
    return [...byKey.values()]
      .sort((a, b) => b.updatedAt - a.updatedAt || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0))
      .slice(0, limit)
  }

  /** How many jobs are in each phase: every stored job, plus declines that were never written. */
  countByPhase(): Map<string, number> {
    if (!this.#repo) {
      const counts = new Map<string, number>()
      for (const record of this.values()) counts.set(record.phase, (counts.get(record.phase) ?? 0) + 1)
      return counts
    }
    const counts = this.#repo.countByPhase()
    if (this.#unsavedDeclines > 0) {
      counts.set('declined', (counts.get('declined') ?? 0) + this.#unsavedDeclines)
    }
    return counts
  }

  #prune(): void {
    const oldest = this.#now() - this.#lingerMs
    for (const [key, record] of this.#terminal) {
      const expired = this.#repo !== undefined && record.updatedAt < oldest
      if (!expired && this.#terminal.size <= this.#maxTerminal) break
      this.#terminal.delete(key)
      this.#unsaved.delete(key) // its count stays in #unsavedDeclines
    }
  }
}

function fromSummary(row: ProviderJobSummary): ListedProviderJob {
  return {
    jobId: row.jobId,
    phase: row.phase as ProviderJobPhase,
    ...(row.pricePerFuel !== undefined ? { pricePerFuel: row.pricePerFuel } : {}),
    ...(row.reason !== undefined ? { reason: row.reason } : {}),
    ...(row.fuelUsed !== undefined ? { fuelUsed: row.fuelUsed } : {}),
    updatedAt: row.updatedAt,
  }
}
