/**
 * Where fuel charges are emitted (metering version 3): prepaying likely regions with their
 * enclosing region, refunding them on the paths that skip them.
 *
 * meter.ts splits each function into regions and decides, by the version 2 rules, which are
 * charged on their own and what each costs (see docs/execution.md). This module does not
 * change any cost: it moves charges. A region R that is charged on its own and that the
 * heuristics call likely (`PlanRegion.likely`) is instead charged together with its host H,
 * the nearest enclosing region that still has a charge of its own, when H is entered (R is
 * "prepaid"). Every path from H's entry that can no longer reach R adds R's cost back
 * ("refund"): the other arm of each `if` between H and R (an else arm is created if there is
 * none), each branch or return that jumps past R, and each arm that ends by leaving past R
 * (return, br, br_table, unreachable). The same is done for the entry of a hoisted callee
 * whose own entry prepays something (see `prepaidEntry`): the caller's region that pays the
 * callee's entry prepays that too, or, if it cannot, the caller subtracts it right before the
 * call.
 *
 * The code between H's entry and R (its "window") must not call anything or contain a loop,
 * and all its exits must be refundable; otherwise R keeps its own charge. Then, with D(p)
 * the prepaid amount not yet consumed or refunded at a point p (known statically), the
 * counter is exactly `version 2 counter - D(p)` everywhere, and D is 0 wherever anything
 * outside the function's straight-line code could look at it (calls, host calls, the end of
 * the run). So every check `counter < -D(p)` (the bulk memory charge's too) fails exactly
 * where version 2's `counter < 0` failed, and a run that does not trap uses the same fuel as
 * under version 2. The one difference: a trap inside a window is billed D more (the prepaid
 * region was paid, not run). Which regions check at all is meter.ts's decision (`checked`).
 */

export type RegionKind = 'function' | 'loop' | 'arm' | 'segment'

export interface PlanRegion {
  kind: RegionKind
  /** Enclosing region (index), -1 for the function body. */
  parent: number
  /** Position (pre-order index of IR nodes in the function) of its first node, and one past its last. */
  start: number
  end: number
  /** Version 2: charged on its own when entered (false: folded into its parent, or the body of a hoisted function). */
  charged: boolean
  /** Version 2 cost: what is charged when it is entered. */
  cost: number
  /** The heuristics expect it to run whenever its enclosing region does. */
  likely: boolean
  /** Checks the counter at its entry (loops, entries of functions not hoisted, regions calling large functions). */
  checked: boolean
  /** The then arm of a loop's leading test (`loop { if (c) { ... br } }`). */
  loopHead?: boolean
  /** Arms: the `if` they belong to (index into `PlanInput.ifs`). */
  ifIndex?: number
  /** Arms that end with an unconditional exit (return, br, br_table, unreachable): that exit (index into `events`). */
  exitEvent?: number
}

export interface PlanIf {
  /** Region of the then arm and of the else arm (undefined: no else arm). */
  thenArm: number
  elseArm?: number
}

export interface PlanLabel {
  loop: boolean
  /** The block / loop node's position, and one past its last node (a `br` to a block lands there). */
  start: number
  end: number
}

export interface PlanEvent {
  kind: 'call' | 'observer' | 'bulk' | 'return' | 'branch' | 'unreachable'
  /** Position of the node and one past its last operand. */
  start: number
  end: number
  /** The region the node is in (before any folding). */
  region: number
  /** Calls: the direct callee. */
  callee?: string
  /** Branches: br_if (conditional), whether it carries a value, target labels (br_table: all). */
  conditional?: boolean
  value?: boolean
  labels?: string[]
}

export interface PlanInput {
  regions: PlanRegion[]
  ifs: PlanIf[]
  /** In increasing `start` order. */
  events: PlanEvent[]
  labels: ReadonlyMap<string, PlanLabel>
  /** The function body is the entry of a hoisted function (its cost is paid by callers). */
  rootHoisted: boolean
  /** What a hoisted callee's entry prepays (0 for other callees and imports). */
  prepaidEntryOf: (callee: string) => number
}

/** Where a refund is emitted. */
export type RefundSite =
  | { kind: 'arm'; region: number } // at the start of an arm
  | { kind: 'else'; ifIndex: number } // a new else arm of an `if` that has none
  | { kind: 'before'; event: number } // right before an unconditional branch or return
  | { kind: 'branch-if'; event: number } // br_if becomes `if (cond) { refund; br }`

export interface ChargePlan {
  /**
   * Regions that charge at their entry: `fuel -= amount` (may be negative), then, for checked
   * regions, trap if `fuel < -threshold`.
   */
  charges: Map<number, { amount: number; threshold?: number }>
  /** Checked prepaid regions: only the check at their entry (`fuel < -threshold`). */
  checks: Map<number, number>
  /** Refunds not merged into a charge (`fuel += amount`, then a check if `threshold` is set). */
  refunds: { site: RefundSite; amount: number; threshold?: number }[]
  /** Calls to hoisted callees whose entry prepays: subtract this right before the call (event index → amount). */
  preCharges: Map<number, number>
  /** Bulk memory operations (event index): the threshold of the check after their charge. */
  bulkChecks: Map<number, number>
  /** When the body is a hoisted function's entry: what callers must prepay on top of its version 2 entry cost. */
  prepaidEntry: number
}

/** A window longer than this many events is not searched (the region keeps its own charge). */
export const MAX_WINDOW_EVENTS = 256

interface Item {
  host: number
  /** Window: from the host's entry (lo) to where the prepaid amount is consumed (hi, exclusive). */
  lo: number
  hi: number
  /** Past the prepaid code: a branch landing at or after this skips it. */
  end: number
  amount: number
  /** Where the enclosing `if`s are looked up from (the prepaid region, or the call's region). */
  chainFrom: number
  /** A call item: its own call event is not part of its window. */
  exclude?: number
  skips: [number, number][]
  sites: RefundSite[]
}

export function planCharges(input: PlanInput): ChargePlan {
  const { regions, ifs, events, labels } = input
  const prepaid: boolean[] = regions.map(() => false)
  const items: Item[] = []
  const preCharges = new Map<number, number>()

  const hostOf = (r: number): number => {
    for (let a = (regions[r] as PlanRegion).parent; ; a = (regions[a] as PlanRegion).parent) {
      const region = regions[a] as PlanRegion
      if (a === 0 || (region.charged && !prepaid[a])) return a
    }
  }
  // Events, loops and arms that end by leaving, sorted by position, for window scans.
  /** Index of the first element of `sorted` (by `at`) at or after `pos`. */
  const firstAt = <T>(sorted: readonly T[], at: (t: T) => number, pos: number) => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (at(sorted[mid] as T) < pos) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const firstEventAt = (pos: number) => firstAt(events, (event) => event.start, pos)
  const loopStarts = regions
    .filter((r) => r.kind === 'loop')
    .map((r) => r.start)
    .sort((a, b) => a - b)
  const armsByStart = regions
    .map((region, index) => ({ region, index }))
    .filter(({ region }) => region.kind === 'arm' && region.exitEvent !== undefined)
    .sort((a, b) => a.region.start - b.region.start)

  /** Fills `item.skips` and `item.sites`; false when the window does not qualify. */
  const analyze = (item: Item): boolean => {
    const inSkip = (start: number, end: number) => item.skips.some(([s, e]) => start >= s && end <= e)
    const classify = (label: string): 'skip' | 'internal' | 'fail' => {
      const target = labels.get(label)
      if (!target) return 'fail'
      if (target.loop) return target.start < item.lo ? 'skip' : 'fail'
      if (target.end <= item.hi) return 'internal'
      return target.end >= item.end ? 'skip' : 'fail'
    }
    const exitSkips = (event: PlanEvent): boolean => {
      if (event.kind === 'return' || event.kind === 'unreachable') return true
      if (event.kind !== 'branch' || event.conditional) return false
      return (event.labels as string[]).every((label) => classify(label) === 'skip')
    }
    // A loop region starts at its body's first node: the host's own (if it is a loop) is at lo.
    const loop = loopStarts[firstAt(loopStarts, (start) => start, item.lo + 1)]
    if (loop !== undefined && loop < item.hi) return false
    // The other arm of every `if` between the host and the prepaid code skips it.
    for (let a = item.chainFrom; a !== item.host; a = (regions[a] as PlanRegion).parent) {
      const region = regions[a] as PlanRegion
      if (region.kind !== 'arm') continue
      const branch = ifs[region.ifIndex as number] as PlanIf
      const other = branch.thenArm === a ? branch.elseArm : branch.thenArm
      if (other === undefined) {
        item.sites.push({ kind: 'else', ifIndex: region.ifIndex as number })
      } else {
        item.sites.push({ kind: 'arm', region: other })
        const o = regions[other] as PlanRegion
        if (o.end <= item.hi) item.skips.push([o.start, o.end])
      }
    }
    // Arms in the window that end by leaving past the prepaid code: refunded where they start.
    for (let k = firstAt(armsByStart, (arm) => arm.region.start, item.lo); k < armsByStart.length; k++) {
      const { region, index } = armsByStart[k] as (typeof armsByStart)[number]
      if (region.start >= item.hi) break
      if (region.end > item.hi || inSkip(region.start, region.end)) continue
      if (exitSkips(events[region.exitEvent as number] as PlanEvent)) {
        item.skips.push([region.start, region.end])
        item.sites.push({ kind: 'arm', region: index })
      }
    }
    let scanned = 0
    for (let e = firstEventAt(item.lo); e < events.length; e++) {
      const event = events[e] as PlanEvent
      if (event.start >= item.hi) break
      if (event.end > item.hi || e === item.exclude || inSkip(event.start, event.end)) continue
      if (++scanned > MAX_WINDOW_EVENTS) return false
      switch (event.kind) {
        case 'call':
        case 'observer':
          return false
        case 'bulk':
          // Its charge checks against D where it runs: known, unless its operands hold regions.
          if (regions.some((r) => r.start > event.start && r.start < event.end)) return false
          break
        case 'unreachable':
          break
        case 'return':
          item.sites.push({ kind: 'before', event: e })
          break
        case 'branch': {
          const kinds = new Set((event.labels as string[]).map(classify))
          if (kinds.has('fail') || kinds.size > 1) return false
          if (kinds.has('skip')) {
            if (!event.conditional) item.sites.push({ kind: 'before', event: e })
            else if (event.value) return false
            else item.sites.push({ kind: 'branch-if', event: e })
          }
          break
        }
      }
    }
    return true
  }

  // Prepaid regions, outermost first (regions are numbered in pre-order), so a region's host
  // is known when it is considered.
  for (let r = 1; r < regions.length; r++) {
    const region = regions[r] as PlanRegion
    if (!region.charged || !region.likely || (region.kind !== 'arm' && region.kind !== 'segment')) continue
    const host = hostOf(r)
    const item: Item = {
      host,
      lo: (regions[host] as PlanRegion).start,
      hi: region.start,
      end: region.end,
      amount: region.cost,
      chainFrom: r,
      skips: [],
      sites: [],
    }
    if (analyze(item)) {
      prepaid[r] = true
      items.push(item)
    }
  }
  // Calls to hoisted callees whose entry prepays: the caller's charged region prepays that too.
  events.forEach((event, e) => {
    if (event.kind !== 'call' || event.callee === undefined) return
    const amount = input.prepaidEntryOf(event.callee)
    if (amount === 0) return
    const r = event.region
    const region = regions[r] as PlanRegion
    const host = r === 0 || (region.charged && !prepaid[r]) ? r : hostOf(r)
    const item: Item = {
      host,
      lo: (regions[host] as PlanRegion).start,
      hi: event.end,
      end: event.end,
      amount,
      chainFrom: r,
      exclude: e,
      skips: [],
      sites: [],
    }
    if (analyze(item)) items.push(item)
    else preCharges.set(e, amount)
  })

  /** D(p): prepaid, not yet consumed or refunded, at position p (prefix sums over positions). */
  const positions = regions.reduce((max, r) => Math.max(max, r.end), 0) + 1
  const delta = new Float64Array(positions + 1)
  const hostedBy = new Float64Array(regions.length)
  for (const item of items) {
    hostedBy[item.host] = (hostedBy[item.host] as number) + item.amount
    const add = (from: number, to: number, amount: number) => {
      delta[from] = (delta[from] as number) + amount
      delta[to] = (delta[to] as number) - amount
    }
    add(item.lo, item.hi, item.amount)
    for (const [s, e] of item.skips) add(Math.max(s, item.lo), Math.min(e, item.hi), -item.amount)
  }
  const prefix = new Float64Array(positions + 1)
  for (let p = 0, sum = 0; p <= positions; p++) {
    sum += delta[p] as number
    prefix[p] = sum
  }
  const outstanding = (p: number) => prefix[p] as number

  const refundAt = new Map<string, { site: RefundSite; amount: number; threshold?: number }>()
  for (const item of items) {
    for (const site of item.sites) {
      const key = JSON.stringify(site)
      const entry = refundAt.get(key) ?? { site, amount: 0 }
      entry.amount += item.amount
      refundAt.set(key, entry)
    }
  }
  const charges = new Map<number, { amount: number; threshold?: number }>()
  const checks = new Map<number, number>()
  let prepaidEntry = 0
  // A loop that starts with a test (`loop { if (c) { ... br } }`) whose arm is charged on its
  // own checks at the start of that arm and on the way out instead of at its head, when
  // nothing but straight-line code without calls or branches comes before the test: every
  // path from the head reaches one of the two, and V8 then sees the loop's own exit test
  // first (it drops the interrupt check of loops whose trip count it can bound; sha256 ran
  // 3 % slower with the check at the head). Version 2 did the same.
  const deferred = new Set<number>()
  const armChecks = new Map<number, number>()
  regions.forEach((arm, a) => {
    // Only for an arm charged on its own: otherwise the way out would add a check per loop.
    if (!arm.loopHead || !arm.charged) return
    let loop = arm.parent
    while ((regions[loop] as PlanRegion).kind !== 'loop') loop = (regions[loop] as PlanRegion).parent
    const head = regions[loop] as PlanRegion
    const lo = head.start
    if (events.some((event) => event.start >= lo && event.start < arm.start)) return
    if (
      regions.some((other, o) => o !== loop && other.charged && other.start > lo && other.start < arm.start)
    )
      return
    deferred.add(loop)
    armChecks.set(a, outstanding(arm.start))
    const exit = JSON.stringify({ kind: 'else', ifIndex: arm.ifIndex })
    const entry = refundAt.get(exit) ?? { site: { kind: 'else', ifIndex: arm.ifIndex as number }, amount: 0 }
    entry.threshold = outstanding(arm.end)
    refundAt.set(exit, entry)
  })
  regions.forEach((region, r) => {
    const hosted = hostedBy[r] as number
    if (r === 0 && input.rootHoisted) {
      prepaidEntry = hosted
      return
    }
    const armCheck = armChecks.get(r)
    if (prepaid[r] || (!region.charged && r !== 0)) {
      if (armCheck !== undefined) checks.set(r, armCheck)
      else if (prepaid[r] && region.checked) checks.set(r, outstanding(region.start))
      return
    }
    const key = JSON.stringify({ kind: 'arm', region: r })
    const refund = refundAt.get(key)?.amount ?? 0
    refundAt.delete(key)
    const amount = region.cost + hosted - refund
    if (armCheck !== undefined) charges.set(r, { amount, threshold: armCheck })
    else if (region.checked && !deferred.has(r))
      charges.set(r, { amount, threshold: outstanding(region.start) })
    else charges.set(r, { amount })
  })
  const bulkChecks = new Map<number, number>()
  events.forEach((event, e) => {
    if (event.kind === 'bulk') bulkChecks.set(e, outstanding(event.start))
  })
  return { charges, checks, refunds: [...refundAt.values()], preCharges, bulkChecks, prepaidEntry }
}
