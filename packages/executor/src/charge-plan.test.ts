import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type PlanEvent, type PlanInput, type PlanRegion, planCharges } from './charge-plan.ts'
import { Rng } from './fuzz-generators.ts'
import { instrumentModule } from './meter.ts'
import { FUEL_EXPORT } from './metering.ts'
import { wat } from './test-fixtures.ts'

/**
 * Prepaying must not change what a run that does not trap uses, nor when it runs out of
 * fuel, nor what the host sees: checked here on hand-made plans and on random programs
 * against the version 2 placement (`prepay: false`, every region charged at its own entry).
 */

const region = (
  over: Partial<PlanRegion> & Pick<PlanRegion, 'kind' | 'parent' | 'start' | 'end'>,
): PlanRegion => ({
  charged: true,
  checked: false,
  cost: 40,
  likely: false,
  ...over,
})

/** A function body (0..20) holding a guard `if` (arm 1, 3..5, returns) and the segment after it (2, 6..20). */
function guarded(extra: PlanEvent[] = []): PlanInput {
  const events: PlanEvent[] = [{ kind: 'return', start: 4, end: 5, region: 1 }, ...extra]
  events.sort((a, b) => a.start - b.start)
  return {
    regions: [
      region({ kind: 'function', parent: -1, start: 0, end: 20, checked: true, cost: 5 }),
      region({ kind: 'arm', parent: 0, start: 3, end: 5, charged: false, cost: 2, ifIndex: 0, exitEvent: 0 }),
      region({ kind: 'segment', parent: 0, start: 6, end: 20, likely: true }),
    ],
    ifs: [{ thenArm: 1 }],
    events,
    labels: new Map(),
    rootHoisted: false,
    prepaidEntryOf: () => 0,
  }
}

describe('planCharges', () => {
  test('a likely segment is charged with its host and refunded where the guard leaves', () => {
    const plan = planCharges(guarded())
    // The body pays its own 5 and the segment's 40, and may go 40 below zero (not its own part).
    assert.deepEqual(plan.charges.get(0), { amount: 45, threshold: 40 })
    assert.equal(plan.charges.has(2), false)
    // The guard's arm is not charged on its own: the refund stands alone at its start.
    assert.deepEqual(plan.refunds, [{ site: { kind: 'arm', region: 1 }, amount: 40 }])
  })

  test('a call or a bulk memory operation before the likely code keeps it charged on its own', () => {
    for (const kind of ['call', 'observer'] as const) {
      const plan = planCharges(guarded([{ kind, start: 1, end: 2, region: 0, callee: 'f' }]))
      assert.deepEqual(plan.charges.get(0), { amount: 5, threshold: 0 })
      assert.deepEqual(plan.charges.get(2), { amount: 40 })
      assert.deepEqual(plan.refunds, [])
    }
  })

  test('a br_table that both skips the likely code and stays before it keeps it charged', () => {
    const input = guarded([{ kind: 'branch', start: 1, end: 2, region: 0, labels: ['inner', 'outer'] }])
    const labels = new Map([
      ['inner', { loop: false, start: 1, end: 3 }],
      ['outer', { loop: false, start: 0, end: 20 }],
    ])
    assert.equal(planCharges({ ...input, labels }).charges.get(2)?.amount, 40)
    const skipping = new Map([...labels, ['inner', { loop: false, start: 0, end: 20 }]])
    const plan = planCharges({ ...input, labels: skipping })
    assert.equal(plan.charges.has(2), false)
    assert.ok(plan.refunds.some(({ site }) => site.kind === 'before'))
  })

  test('a hoisted body prepays for its callers, who prepay it at the call or right before it', () => {
    const callee = planCharges({ ...guarded(), rootHoisted: true })
    assert.equal(callee.prepaidEntry, 40)
    assert.equal(callee.charges.has(0), false)
    const caller = (extra: PlanEvent[]): PlanInput => ({
      regions: [region({ kind: 'function', parent: -1, start: 0, end: 10, checked: true, cost: 9 })],
      ifs: [],
      events: [...extra, { kind: 'call', start: 5, end: 7, region: 0, callee: 'g' }],
      labels: new Map(),
      rootHoisted: false,
      prepaidEntryOf: (name) => (name === 'g' ? 40 : 0),
    })
    assert.deepEqual(planCharges(caller([])).charges.get(0), { amount: 49, threshold: 40 })
    const second = planCharges(caller([{ kind: 'call', start: 2, end: 3, region: 0, callee: 'h' }]))
    assert.deepEqual(second.charges.get(0), { amount: 9, threshold: 0 })
    assert.deepEqual([...second.preCharges], [[1, 40]])
  })
})

/**
 * Random structured programs (guards, likely arms, branches to traps, loops, calls, traps,
 * host calls) whose branches depend on the global $in, set to `input`.
 */
function randomProgram(rng: Rng): (input: number) => string {
  const functions = 1 + rng.int(4)
  let labels = 0
  const fresh = () => `$l${labels++}`
  const cond = () => `(i32.and (global.get $in) (i32.const ${1 << rng.int(8)}))`
  const fill = (n: number) =>
    Array.from({ length: n }, (_, i) => `(local.set $y (i32.add (local.get $y) (i32.const ${i})))`).join(' ')
  const expr = (depth: number): string => {
    switch (rng.int(depth > 2 ? 3 : 6)) {
      case 0:
        return `(i32.const ${rng.int(100)})`
      case 1:
        return '(local.get $x)'
      case 2:
        return `(i32.xor (global.get $in) (i32.load (i32.and ${expr(depth + 1)} (i32.const 1020))))`
      case 3:
        return `(i32.add ${expr(depth + 1)} ${expr(depth + 1)})`
      default: // a likely arm: its sibling is a constant
        return `(if (result i32) ${cond()} (then (i32.const 0)) (else ${fill(rng.int(30))} ${expr(depth + 1)}))`
    }
  }
  const call = (f: number) => `(call $f${f + 1 + rng.int(functions - f - 1)} (local.get $x))`
  const block = (f: number, depth: number, outer: string[]): string =>
    Array.from({ length: 1 + rng.int(depth > 2 ? 2 : 4) }, () => statement(f, depth, outer)).join(' ')
  const statement = (f: number, depth: number, outer: string[]): string => {
    const inner = (extra: string[] = []) => block(f, depth + 1, [...outer, ...extra])
    const l = fresh()
    const i = `$i${depth}`
    switch (rng.int(depth > 3 ? 4 : 18)) {
      case 0:
        return `(local.set $x ${expr(depth)})`
      case 1:
        return fill(1 + rng.int(40))
      case 2:
        return '(global.set $in (i32.add (i32.mul (global.get $in) (i32.const 1103515245)) (i32.const 12345)))'
      case 3:
        return '(call $host (local.get $x))'
      case 4:
        return `(if ${cond()} (then ${inner()}) (else ${inner()}))`
      case 5: // a guard
        return `(if ${cond()} (then ${fill(rng.int(5))} (return (local.get $x))))`
      case 6: // a br_if out of a block, to it or to an outer one
        return `(block ${l} ${inner([l])} (br_if ${outer.length > 0 && rng.chance(0.3) ? outer[rng.int(outer.length)] : l} ${cond()}) ${fill(rng.int(40))} ${inner([l])})`
      case 7: // a branch to a trap (a bounds check)
        return `(block ${l} (block ${l}x (br_if ${l}x (i32.eq (global.get $in) (i32.const ${rng.int(7)}))) ${fill(20 + rng.int(30))} ${inner()} (br ${l})) (call $host (i32.const 99)) (unreachable))`
      case 8: // a counted loop that starts with its test
        return `(local.set ${i} (i32.const 0)) (loop ${l} (if (i32.lt_u (local.get ${i}) (i32.const ${rng.int(6)})) (then (local.set ${i} (i32.add (local.get ${i}) (i32.const 1))) ${inner()} ${fill(rng.int(35))} (br ${l}))))`
      case 9: // a loop with continue and break
        return `(local.set ${i} (i32.const 0)) (block ${l}b (loop ${l} (local.set ${i} (i32.add (local.get ${i}) (i32.const 1))) (br_if ${l}b (i32.gt_u (local.get ${i}) (i32.const ${1 + rng.int(5)}))) (br_if ${l} ${cond()}) ${inner([`${l}b`])} ${fill(rng.int(40))} (br ${l})))`
      case 10:
        return f + 1 < functions ? `(local.set $x ${call(f)})` : fill(2)
      case 11: // a trap
        return `(if ${cond()} (then (drop (i32.load (i32.const 70000)))))`
      case 12:
        return '(call $rec (i32.and (global.get $in) (i32.const 3)))'
      case 13: // an abort: a host call, then a trap
        return `(if ${cond()} (then ${fill(rng.int(5))} (call $host (i32.const 7)) (unreachable)))`
      case 14:
        return `(block ${l} (block ${l}i (br_table ${l}i ${l} (i32.and (global.get $in) (i32.const 1)))) ${fill(rng.int(40))}) ${fill(rng.int(10))}`
      case 15: // a br_if with a value
        return `(local.set $x (block ${l} (result i32) (drop (br_if ${l} (local.get $x) ${cond()})) ${fill(rng.int(40))} ${inner()} (i32.const 5)))`
      case 16: // a likely arm that calls
        return f + 1 < functions
          ? `(local.set $x (if (result i32) ${cond()} (then (local.get $x)) (else ${fill(rng.int(30))} ${call(f)})))`
          : fill(3)
      default:
        return `(memory.fill (i32.const 0) (local.get $x) (i32.and (local.get $y) (i32.const 255)))`
    }
  }
  const locals =
    '(local $y i32) (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32) (local $i4 i32)'
  const bodies = Array.from(
    { length: functions },
    (_, f) =>
      `(func $f${f} (param $x i32) (result i32) ${locals} ${block(f, 0, [])} (i32.add (local.get $x) (local.get $y)))`,
  )
  return (input) => `(module
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (global $in (mut i32) (i32.const ${input}))
    (func $host (param i32) (drop (call $clock (local.get 0) (i64.const 0) (i32.const 0))))
    (func $rec (param $n i32) (local $y i32)
      (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1))) ${fill(3)})))
    ${bodies.join('\n')}
    (func (export "_start") (drop (call $f0 (i32.const ${input & 255})))))`
}

/**
 * Runs `_start`: the outcome (out of fuel when it trapped with the counter below zero), the
 * fuel used, and the fuel used so far at each host call.
 */
function run(module: Uint8Array, fuel: bigint) {
  const seen: bigint[] = []
  const counter = () => (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint
  const instance: WebAssembly.Instance = new WebAssembly.Instance(
    new WebAssembly.Module(module as Uint8Array<ArrayBuffer>),
    {
      wasi_snapshot_preview1: {
        clock_time_get: () => {
          seen.push(fuel - counter())
          return 0
        },
      },
      bazaar: { fuel_limit: new WebAssembly.Global({ value: 'i64', mutable: false }, fuel) },
    },
  )
  let outcome: 'ok' | 'trap' | 'out of fuel' = 'ok'
  try {
    ;(instance.exports._start as () => void)()
  } catch (err) {
    assert.ok(err instanceof WebAssembly.RuntimeError)
    outcome = counter() < 0n ? 'out of fuel' : 'trap'
  }
  const left = counter()
  return { outcome, used: left < 0n ? fuel : fuel - left, seen }
}

describe('prepaying on random programs', () => {
  test('same fuel, outcomes and host counters as charging every region at its entry', () => {
    const unlimited = 1n << 40n
    let prepaidRuns = 0
    for (let seed = 1; seed <= 60; seed++) {
      const rng = new Rng(seed)
      const program = randomProgram(rng)
      for (let input = 0; input < 3; input++) {
        const source = wat(program(seed * 7 + input * 37))
        const v2 = instrumentModule(source, { memoryMaxPages: 16, prepay: false })
        const v3 = instrumentModule(source, { memoryMaxPages: 16 })
        const what = `seed ${seed}, input ${input}`
        const a = run(v2, unlimited)
        const b = run(v3, unlimited)
        assert.equal(b.outcome, a.outcome, what)
        if (a.outcome === 'trap') {
          // A trap may be billed prepaid code it did not run, never less than it ran.
          assert.ok(b.used >= a.used, what)
          continue
        }
        prepaidRuns++
        assert.equal(b.used, a.used, what)
        assert.deepEqual(b.seen, a.seen, what)
        const needed = a.used
        assert.deepEqual(run(v3, needed), { ...b, used: needed }, `${what}: exact limit`)
        assert.equal(run(v3, needed - 1n).outcome, 'out of fuel', `${what}: one short`)
        // Any smaller limit: out of fuel under both, and the host saw the same counters up to then.
        for (let k = 0; k < 3; k++) {
          const limit = BigInt(rng.int(Number(needed)))
          const x = run(v2, limit)
          const y = run(v3, limit)
          assert.equal(y.outcome, x.outcome, `${what}: limit ${limit}`)
          assert.deepEqual(y.seen, x.seen, `${what}: limit ${limit}`)
        }
      }
    }
    assert.ok(prepaidRuns > 60, 'enough runs that did not trap')
  })
})
