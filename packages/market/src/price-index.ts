import { MarketConfigError } from './market-config-error.ts'
import { median, sortBigints } from './quantile.ts'
import type { ResourceClass } from './resource-class.ts'

/** One award (an on-chain event): who cleared at what price, for which class, when. */
export interface AwardRecord {
  jobId: bigint | string
  /** Distinguishes the k awards of one job; omit when k = 1. */
  provider?: string
  resourceClass: ResourceClass
  pricePerFuel: bigint
  /** Unix seconds (block time). */
  timeSeconds: bigint
}

/** Clearing prices of one class over the window (nowSeconds − windowSeconds, nowSeconds]. */
export interface PriceStats {
  resourceClass: ResourceClass
  count: number
  /** Price of the latest award (same second: the greater `jobId:provider` key, in string order). */
  recent: bigint
  recentAtSeconds: bigint
  /** Middle price; the two middle prices averaged (rounded down) for an even count. */
  median: bigint
  min: bigint
  max: bigint
  fromSeconds: bigint
  toSeconds: bigint
}

export type PriceIndexSnapshot = Readonly<Record<ResourceClass, PriceStats>>

export interface PriceIndexInit {
  windowSeconds: bigint
  /** Oldest awards are dropped past this many per class, bounding memory. Default 10_000. */
  maxRecordsPerClass?: number
}

interface Entry {
  key: string
  pricePerFuel: bigint
  timeSeconds: bigint
}

function recordKey(r: Pick<AwardRecord, 'jobId' | 'provider'>): string {
  return `${r.jobId.toString()}:${(r.provider ?? '').toLowerCase()}`
}

/** Chronological order; the key breaks ties so the order never depends on arrival. */
function byTime(a: Entry, b: Entry): number {
  if (a.timeSeconds !== b.timeSeconds) return a.timeSeconds < b.timeSeconds ? -1 : 1
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

function statsOf(
  resourceClass: ResourceClass,
  inWindow: readonly Entry[],
  from: bigint,
  to: bigint,
): PriceStats | undefined {
  const last = inWindow.at(-1)
  if (last === undefined) return undefined
  const sorted = sortBigints(inWindow.map((e) => e.pricePerFuel))
  return {
    resourceClass,
    count: sorted.length,
    recent: last.pricePerFuel,
    recentAtSeconds: last.timeSeconds,
    median: median(sorted)!,
    min: sorted[0]!,
    max: sorted.at(-1)!,
    fromSeconds: from,
    toSeconds: to,
  }
}

/** Stats of one class straight from a list of awards (no index needed). */
export function computePriceStats(
  records: Iterable<AwardRecord>,
  resourceClass: ResourceClass,
  nowSeconds: bigint,
  windowSeconds: bigint,
): PriceStats | undefined {
  const from = nowSeconds - windowSeconds
  const seen = new Set<string>()
  const entries: Entry[] = []
  for (const r of records) {
    const key = recordKey(r)
    if (seen.has(key)) continue // the same award seen twice counts once, whatever its class
    seen.add(key)
    if (r.resourceClass !== resourceClass || r.timeSeconds <= from || r.timeSeconds > nowSeconds) continue
    entries.push({ key, pricePerFuel: r.pricePerFuel, timeSeconds: r.timeSeconds })
  }
  return statsOf(resourceClass, entries.sort(byTime), from, nowSeconds)
}

/**
 * Clearing prices per resource class from award events. The caller feeds events in any
 * order (replays from a chain reorg or a restart included: an award counts once) and asks
 * with its own `now`; awards after `now` are not counted yet.
 */
export class PriceIndex {
  readonly windowSeconds: bigint
  private readonly maxRecords: number
  private readonly classes = new Map<ResourceClass, Entry[]>()
  private readonly keys = new Map<string, ResourceClass>()

  constructor(init: PriceIndexInit) {
    if (init.windowSeconds <= 0n) throw new MarketConfigError('windowSeconds', 'must be positive')
    const max = init.maxRecordsPerClass ?? 10_000
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new MarketConfigError('maxRecordsPerClass', `must be a positive integer, got ${max}`)
    }
    this.windowSeconds = init.windowSeconds
    this.maxRecords = max
  }

  /** Adds an award; false when it was already recorded. */
  record(award: AwardRecord): boolean {
    const key = recordKey(award)
    if (this.keys.has(key)) return false
    const entry: Entry = { key, pricePerFuel: award.pricePerFuel, timeSeconds: award.timeSeconds }
    let list = this.classes.get(award.resourceClass)
    if (list === undefined) {
      list = []
      this.classes.set(award.resourceClass, list)
    }
    // Events mostly arrive in order: search from the end for the insertion point.
    let i = list.length
    while (i > 0 && byTime(list[i - 1]!, entry) > 0) i--
    list.splice(i, 0, entry)
    this.keys.set(key, award.resourceClass)
    while (list.length > this.maxRecords) this.keys.delete(list.shift()!.key)
    return true
  }

  stats(resourceClass: ResourceClass, nowSeconds: bigint): PriceStats | undefined {
    const list = this.classes.get(resourceClass)
    if (list === undefined) return undefined
    const from = nowSeconds - this.windowSeconds
    return statsOf(
      resourceClass,
      list.filter((e) => e.timeSeconds > from && e.timeSeconds <= nowSeconds),
      from,
      nowSeconds,
    )
  }

  /** Stats of every class with awards in the window, keyed by class. */
  snapshot(nowSeconds: bigint): PriceIndexSnapshot {
    // No prototype: class names come from the network and must not collide with Object members.
    const out: Record<ResourceClass, PriceStats> = Object.create(null)
    for (const resourceClass of [...this.classes.keys()].sort()) {
      const stats = this.stats(resourceClass, nowSeconds)
      if (stats !== undefined) out[resourceClass] = stats
    }
    return out
  }

  /** Forgets awards that fell out of the window; returns how many. */
  prune(nowSeconds: bigint): number {
    const from = nowSeconds - this.windowSeconds
    let dropped = 0
    for (const [resourceClass, list] of this.classes) {
      const keep = list.filter((e) => e.timeSeconds > from)
      for (const e of list) if (e.timeSeconds <= from) this.keys.delete(e.key)
      dropped += list.length - keep.length
      if (keep.length === 0) this.classes.delete(resourceClass)
      else this.classes.set(resourceClass, keep)
    }
    return dropped
  }

  get size(): number {
    return this.keys.size
  }
}
