import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createInstrumentCache } from './instrument-cache.ts'
import { instrumentModule } from './meter.ts'
import { FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT } from './metering.ts'
import { exampleModule, wat } from './test-fixtures.ts'

const PAGES = 16

/**
 * Instruments a module, runs `_start` in-process, returns fuel used and the instance. Its only
 * WASI import may be `clock_time_get`, which records the counter it sees in `seen`.
 */
function runMetered(module: Uint8Array, fuel = 1_000_000n, options: { prepay?: boolean } = {}) {
  const metered = instrumentModule(module, { memoryMaxPages: PAGES, ...options })
  const seen: bigint[] = []
  const counter = () => (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint
  const instance: WebAssembly.Instance = new WebAssembly.Instance(
    new WebAssembly.Module(metered as Uint8Array<ArrayBuffer>),
    {
      bazaar: { fuel_limit: new WebAssembly.Global({ value: 'i64', mutable: false }, fuel) },
      wasi_snapshot_preview1: {
        clock_time_get: () => {
          seen.push(counter())
          return 0
        },
      },
    },
  )
  let trap: unknown
  try {
    ;(instance.exports._start as () => void)()
  } catch (err) {
    trap = err
  }
  const left = counter()
  return { fuelUsed: fuel - left, left, trap, instance, seen }
}

const program = (body: string, extra = '') =>
  wat(`(module (memory (export "memory") 1) ${extra} (func (export "_start") (local $i i32) ${body}))`)

const countTo = (n: number) =>
  program(`(loop $l
    (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const ${n}))))`)

describe('instrumentModule', () => {
  test('one fuel unit per IR node, charged per region entry', () => {
    assert.equal(runMetered(program('(nop)')).fuelUsed, 1n)
    assert.equal(runMetered(program('(drop (i32.const 1))')).fuelUsed, 2n)
    // Function body: the loop node (1). Loop body, per iteration: br_if, lt_u, tee, add,
    // get, const, const (7).
    assert.equal(runMetered(countTo(10)).fuelUsed, 1n + 7n * 10n)
    assert.equal(runMetered(countTo(1000)).fuelUsed, 1n + 7n * 1000n)
  })

  test('an if-arm of 32 or more nodes is charged only when taken; a shorter one always', () => {
    // 8 nodes: drop, three adds, four consts.
    const arm = '(drop (i32.add (i32.add (i32.const 1) (i32.const 2)) (i32.add (i32.const 3) (i32.const 4))))'
    const long = `${arm} ${arm} ${arm} ${arm}` // 32 nodes: charged on its own
    const taken = runMetered(program(`(if (i32.const 1) (then ${long}))`)).fuelUsed
    const skipped = runMetered(program(`(if (i32.const 0) (then ${long}))`)).fuelUsed
    assert.equal(skipped, 2n) // if + condition
    assert.equal(taken, 2n + 1n + 32n) // + the arm's block node and its 32 nodes
    // 17 nodes (block + 16): merged into the function's region, charged taken or not.
    const short = `${arm} ${arm}`
    assert.equal(runMetered(program(`(if (i32.const 0) (then ${short}))`)).fuelUsed, 2n + 17n)
    assert.equal(runMetered(program(`(if (i32.const 1) (then ${short}))`)).fuelUsed, 2n + 17n)
  })

  test('a function reached only by direct calls is charged at its call sites', () => {
    const f = '(func $f (drop (i32.const 1)))' // entry region: drop, const (2)
    // _start: block, two calls (3) + f twice (2 x 2): the same total as charging f at its entry.
    assert.equal(runMetered(program('(call $f) (call $f)', f)).fuelUsed, 7n)
    const exact = runMetered(program('(call $f) (call $f)', f), 7n)
    assert.equal(exact.trap, undefined)
    assert.equal(runMetered(program('(call $f) (call $f)', f), 6n).left, -1n)
    // A trap before the call is billed the callee's entry too: it was charged with the
    // caller's region (block, drop, load, const, call: 5) before the region ran.
    const trapped = runMetered(program('(drop (i32.load (i32.const 1000000))) (call $f)', f))
    assert.ok(trapped.trap instanceof WebAssembly.RuntimeError)
    assert.equal(trapped.fuelUsed, 5n + 2n)
  })

  test('recursion is charged at every entry, so it runs out of fuel, not out of stack', () => {
    // $r: if, get (2) + its arm: call, sub, get, const (4, merged): 6 per call; 11 calls.
    const r =
      '(func $r (param i32) (if (local.get 0) (then (call $r (i32.sub (local.get 0) (i32.const 1))))))'
    assert.equal(runMetered(program('(call $r (i32.const 10))', r)).fuelUsed, 2n + 6n * 11n)
    assert.equal(runMetered(program('(call $r (i32.const 10))', r), 68n).trap, undefined)
    const endless = runMetered(program('(call $loop)', '(func $loop (call $loop))'), 10_000n)
    assert.ok(endless.trap instanceof WebAssembly.RuntimeError)
    assert.ok(endless.left < 0n, 'stopped by fuel')
  })

  test('exhausting fuel traps with the counter below zero; exactly enough fuel succeeds', () => {
    const exact = runMetered(countTo(100), 701n)
    assert.equal(exact.trap, undefined)
    assert.equal(exact.left, 0n)
    const short = runMetered(countTo(100), 700n)
    assert.ok(short.trap instanceof WebAssembly.RuntimeError)
    assert.ok(short.left < 0n)
  })

  test('bulk memory costs one unit per 16 bytes', () => {
    const fill = (n: number) =>
      runMetered(program(`(memory.fill (i32.const 0) (i32.const 7) (i32.const ${n}))`))
    assert.equal(fill(1600).fuelUsed - fill(0).fuelUsed, 100n)
  })

  test('NaN results are canonical; loaded NaN payloads are kept', () => {
    const { instance } = runMetered(
      program(
        `(i64.store (i32.const 0) (i64.reinterpret_f64 (f64.div (global.get $zero) (global.get $zero))))
         (i32.store (i32.const 8) (i32.reinterpret_f32 (f32.sqrt (f32.const -1))))
         (f64.store (i32.const 16) (f64.load (i32.const 32)))`,
        `(global $zero (mut f64) (f64.const 0)) (data (i32.const 32) "\\01\\00\\00\\00\\00\\00\\f4\\ff")`,
      ),
    )
    const view = new DataView((instance.exports.memory as WebAssembly.Memory).buffer)
    // x86 would give 0xfff8000000000000 (sign set) without canonicalization.
    assert.equal(view.getBigUint64(0, true), 0x7ff8000000000000n)
    assert.equal(view.getUint32(8, true), 0x7fc00000)
    assert.equal(view.getBigUint64(16, true), 0xfff4000000000001n)
  })

  test('NaNs kept in float locals are canonical wherever their bits can be seen', () => {
    const { instance } = runMetered(
      program(
        `(local $x f64) (local $y f64) (local $z f32)
         (local.set $x (f64.div (global.get $zero) (global.get $zero)))
         (local.set $z (f32.sqrt (f32.const -1)))
         (i64.store (i32.const 0) (i64.reinterpret_f64 (local.get $x)))
         (i64.store (i32.const 8) (i64.reinterpret_f64 (f64.neg (local.get $x))))
         (f64.store (i32.const 16) (f64.copysign (f64.const 1) (local.get $x)))
         (local.set $y (f64.load (i32.const 64)))
         (if (global.get $never) (then (local.set $y (f64.mul (local.get $x) (f64.const 2)))))
         (f64.store (i32.const 24) (local.get $y))
         (call $put (f64.add (local.get $x) (f64.const 1)))
         (f32.store (i32.const 40) (local.get $z))`,
        `(global $zero (mut f64) (f64.const 0)) (global $never (mut i32) (i32.const 0))
         (func $put (param f64) (f64.store (i32.const 32) (local.get 0)))
         (data (i32.const 64) "\\01\\00\\00\\00\\00\\00\\f4\\ff")`,
      ),
    )
    const view = new DataView((instance.exports.memory as WebAssembly.Memory).buffer)
    assert.equal(view.getBigUint64(0, true), 0x7ff8000000000000n)
    assert.equal(view.getBigUint64(8, true), 0xfff8000000000000n) // neg of the canonical NaN
    assert.equal(view.getFloat64(16, true), 1)
    // $y is also set from memory, so its loaded payload is kept.
    assert.equal(view.getBigUint64(24, true), 0xfff4000000000001n)
    assert.equal(view.getBigUint64(32, true), 0x7ff8000000000000n)
    assert.equal(view.getUint32(40, true), 0x7fc00000)
  })

  test('a loop that starts with a test is charged exactly as its regions say', () => {
    const work =
      '(drop (i32.add (i32.add (i32.const 1) (i32.const 2)) (i32.add (i32.const 3) (i32.const 4))))'
    // Loop region: if, lt_u, get, const (4) per test; the arm (block, set, add, get, const,
    // 4 x 8, br: 38) per iteration, charged on its own (38 >= 32), but prepaid with the loop
    // region: one subtraction per iteration, checked in the arm and on the way out.
    const loop = (n: number, body = `${work} ${work} ${work} ${work}`) =>
      program(`(loop $l (if (i32.lt_u (local.get $i) (i32.const ${n})) (then
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        ${body}
        (br $l))))`)
    // A short arm (block, set, add, get, const, 8, br: 14) is merged into the loop region,
    // so the exiting test pays it too.
    for (const n of [0, 1, 50]) {
      assert.equal(runMetered(loop(n, work)).fuelUsed, 1n + (4n + 14n) * BigInt(n + 1))
    }
    const cost = (n: number) => 1n + 4n * BigInt(n + 1) + 38n * BigInt(n)
    for (const n of [0, 1, 50]) assert.equal(runMetered(loop(n)).fuelUsed, cost(n))
    const exact = runMetered(loop(50), cost(50))
    assert.equal(exact.trap, undefined)
    assert.equal(exact.left, 0n)
    // One short: out of fuel at the final (exiting) test; the arm's share is refunded first.
    const exitShort = runMetered(loop(50), cost(50) - 1n)
    assert.ok(exitShort.trap instanceof WebAssembly.RuntimeError)
    assert.equal(exitShort.left, -1n)
    // Short inside the last iteration's arm.
    const armShort = runMetered(loop(50), cost(50) - 5n)
    assert.ok(armShort.trap instanceof WebAssembly.RuntimeError)
    assert.equal(armShort.left, -1n)
  })

  // Version 3 moves charges (prepaying likely regions, refunding them where they are
  // skipped) without changing what a run that does not trap uses: every count below is the
  // same with `prepay: false`, which charges each region at its own entry.
  describe('prepaying likely regions', () => {
    const work =
      '(drop (i32.add (i32.add (i32.const 1) (i32.const 2)) (i32.add (i32.const 3) (i32.const 4))))'
    const long = `${work} ${work} ${work} ${work}` // 32 nodes
    /** n constants summed: 2n - 1 nodes. */
    const sum = (n: number): string => (n === 1 ? '(i32.const 1)' : `(i32.add ${sum(n - 1)} (i32.const 1))`)
    const flag = (value: number) => `(global $c (mut i32) (i32.const ${value}))`
    /** Fuel used with and without prepaying, which must agree. */
    const both = (module: Uint8Array, fuel?: bigint) => {
      const on = runMetered(module, fuel)
      const off = runMetered(module, fuel, { prepay: false })
      assert.equal(on.fuelUsed, off.fuelUsed)
      assert.equal(on.trap === undefined, off.trap === undefined)
      return on
    }
    const outOfFuel = (run: { trap: unknown; left: bigint }) => {
      assert.ok(run.trap instanceof WebAssembly.RuntimeError, 'trapped')
      assert.ok(run.left < 0n, 'counter below zero')
    }

    test('the code after a guard (`if (c) return`) is prepaid and refunded when the guard exits', () => {
      // Function region: block, if, global.get, the then arm (return: 1, merged): 4. The
      // segment after the if: 32, charged on its own (version 2), prepaid here.
      const guarded = (c: number, before = '') =>
        program(`${before} (if (global.get $c) (then (return))) ${long}`, flag(c))
      assert.equal(both(guarded(0)).fuelUsed, 4n + 32n)
      assert.equal(both(guarded(1)).fuelUsed, 4n)
      // Exact limits succeed on both paths; one short runs out on both.
      for (const [c, need] of [
        [0, 36n],
        [1, 4n],
      ] as const) {
        const exact = runMetered(guarded(c), need)
        assert.equal(exact.trap, undefined)
        assert.equal(exact.left, 0n)
        outOfFuel(runMetered(guarded(c), need - 1n))
      }
      // A trap before the guard is billed the prepaid segment too (drop, load, const: 3 more).
      const trap = '(drop (i32.load (i32.const 1000000)))'
      const prepaid = runMetered(guarded(0, trap))
      assert.ok(prepaid.trap instanceof WebAssembly.RuntimeError)
      assert.equal(prepaid.fuelUsed, 7n + 32n)
      assert.equal(runMetered(guarded(0, trap), 1_000_000n, { prepay: false }).fuelUsed, 7n)
      // With less than that, the same trap is out of fuel (the counter is below zero).
      outOfFuel(runMetered(guarded(0, trap), 38n))
    })

    test('an arm whose sibling is a constant is prepaid; the constant arm refunds it', () => {
      // drop, if, global.get, then arm (i32.const: 1, merged): 4; else arm: 33 on its own.
      const select = (c: number) =>
        program(`(drop (if (result i32) (global.get $c) (then (i32.const 0)) (else ${sum(17)})))`, flag(c))
      assert.equal(both(select(0)).fuelUsed, 4n + 33n)
      assert.equal(both(select(1)).fuelUsed, 4n)
      assert.equal(runMetered(select(1), 4n).trap, undefined)
      outOfFuel(runMetered(select(1), 3n))
      assert.equal(runMetered(select(0), 37n).trap, undefined)
      outOfFuel(runMetered(select(0), 36n))
    })

    test("a hoisted callee's prepaid code is paid at the call site and refunded in the callee", () => {
      // $g's entry: block, if, local.get, then arm (return, const: 2, merged): 5, paid at the
      // call site; the segment after the guard (32 + const: 33) is prepaid with it.
      const g = `(func $g (param i32) (result i32)
        (if (local.get 0) (then (return (i32.const 7)))) ${long} (i32.const 1))`
      // _start: drop, call, global.get (3) + $g's entry (5).
      const caller = (c: number) => program('(drop (call $g (global.get $c)))', `${flag(c)} ${g}`)
      assert.equal(both(caller(0)).fuelUsed, 8n + 33n)
      assert.equal(both(caller(1)).fuelUsed, 8n)
      // The guard exits at the very end of the run: exactly 8 is enough, 7 is not.
      assert.equal(runMetered(caller(1), 8n).trap, undefined)
      outOfFuel(runMetered(caller(1), 7n))
      assert.equal(runMetered(caller(0), 41n).trap, undefined)
      outOfFuel(runMetered(caller(0), 40n))
    })

    test('the code after a branch to a trap is prepaid; the branch refunds it', () => {
      // block $ok, block $bad, br_if, global.get, and the unreachable after $bad (1, merged):
      // 5; the segment after the br_if (32 + br: 33) is prepaid.
      const checked = (c: number) =>
        program(
          `(block $ok (block $bad (br_if $bad (global.get $c)) ${long} (br $ok)) (unreachable))`,
          flag(c),
        )
      assert.equal(both(checked(0)).fuelUsed, 5n + 33n)
      const trapped = both(checked(1))
      assert.ok(trapped.trap instanceof WebAssembly.RuntimeError)
      assert.equal(trapped.fuelUsed, 5n) // refunded before the trap, as version 2 bills it
      assert.equal(runMetered(checked(0), 38n).trap, undefined)
      outOfFuel(runMetered(checked(0), 37n))
    })

    test('an unchecked charge that overdraws is caught before a host call and at the end', () => {
      // if, global.get (2); the then arm (block + 32: 33) is charged on its own, without a
      // check (it calls nothing); the counter is checked before the import and on return.
      const clock =
        '(import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))'
      const overdraw = (tail: string) =>
        wat(`(module ${clock} (memory (export "memory") 1) ${flag(1)}
          (func (export "_start") (if (global.get $c) (then ${long})) ${tail}))`)
      const atEnd = runMetered(overdraw(''), 34n)
      outOfFuel(atEnd)
      assert.equal(atEnd.left, -1n)
      assert.equal(runMetered(overdraw(''), 35n).trap, undefined)
      // Now a block around both, drop, call, 3 operands: 6 more, charged before the arm; the
      // host never sees -1.
      const host = '(drop (call $clock (i32.const 0) (i64.const 0) (i32.const 0)))'
      const beforeHost = runMetered(overdraw(host), 40n)
      outOfFuel(beforeHost)
      assert.deepEqual(beforeHost.seen, [])
      const enough = runMetered(overdraw(host), 41n)
      assert.equal(enough.trap, undefined)
      assert.deepEqual(enough.seen, [0n])
    })
  })

  test('a failed memory.grow is flagged, and the maximum is capped', () => {
    const { instance } = runMetered(
      program(`(drop (memory.grow (i32.const ${PAGES - 1}))) (drop (memory.grow (i32.const 1)))`),
    )
    assert.equal((instance.exports.memory as WebAssembly.Memory).buffer.byteLength, PAGES * 65536)
    assert.equal((instance.exports[MEMORY_EXCEEDED_EXPORT] as WebAssembly.Global).value, 1)
  })

  test('rewriting is deterministic and keeps the example programs valid', async () => {
    const mandelbrot = await exampleModule('mandelbrot')
    const a = instrumentModule(mandelbrot, { memoryMaxPages: 1024 })
    const b = instrumentModule(mandelbrot, { memoryMaxPages: 1024 })
    assert.deepEqual(a, b)
    assert.ok(WebAssembly.validate(a as Uint8Array<ArrayBuffer>))
  })

  test('modules outside the profile are InvalidModuleError with a hint', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['garbage', new Uint8Array([1, 2, 3]), /not a valid WebAssembly module/],
      [
        'shared memory',
        wat('(module (memory (export "memory") 1 1 shared) (func (export "_start")))'),
        /shared memory: threads/,
      ],
      [
        'atomics',
        wat(
          '(module (memory (export "memory") 1) (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))',
        ),
        /atomic/,
      ],
      [
        'relaxed SIMD',
        wat(`(module (memory (export "memory") 1) (func (export "_start")
          (drop (f32x4.relaxed_madd (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0)))))`),
        /relaxed SIMD/,
      ],
      [
        'foreign import',
        wat('(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))'),
        /only wasi_snapshot_preview1/,
      ],
      ['no _start', wat('(module (memory (export "memory") 1))'), /_start/],
    ]
    for (const [label, module, message] of cases) {
      assert.throws(
        () => instrumentModule(module, { memoryMaxPages: PAGES }),
        (err: Error & { code?: string; hint?: string }) =>
          err.name === 'InvalidModuleError' &&
          err.code === 'E_INVALID_MODULE' &&
          !!err.hint &&
          message.test(err.message),
        label,
      )
    }
  })

  test('an initial memory above the cap is MemoryLimitError', () => {
    assert.throws(
      () =>
        instrumentModule(wat('(module (memory (export "memory") 32) (func (export "_start")))'), {
          memoryMaxPages: 16,
        }),
      { name: 'MemoryLimitError' },
    )
  })
})

describe('createInstrumentCache', () => {
  test('evicts the least recently used entry', () => {
    const cache = createInstrumentCache<number>({ maxEntries: 2 })
    cache.set('a', 1)
    cache.set('b', 2)
    assert.equal(cache.get('a'), 1) // a is now the most recent
    cache.set('c', 3)
    assert.equal(cache.has('b'), false)
    assert.equal(cache.get('a'), 1)
    assert.equal(cache.get('c'), 3)
    assert.equal(cache.size, 2)
  })
})
