import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createExecutor, type Executor } from './executor.ts'
import { instrumentModule } from './meter.ts'
import {
  DEFAULT_LIMITS,
  exampleModule,
  job,
  referenceWordcount,
  SAMPLE_TEXT,
  TILE_ARGS,
  wat,
  watProgram,
} from './test-fixtures.ts'

/** The determinism profile as a requester sees it: through `executor.run`. */

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const V = '(v128.const i64x2 0 0)'

describe('determinism profile', () => {
  let executor: Executor
  before(() => {
    executor = createExecutor({ workers: 2 })
  })
  after(() => executor.close())

  test('relaxed SIMD, threads and other nondeterministic features are InvalidModuleError with a hint', async () => {
    const cases: [string, string, RegExp][] = [
      ['relaxed madd', `(drop (f32x4.relaxed_madd ${V} ${V} ${V}))`, /relaxed SIMD/],
      ['relaxed nmadd', `(drop (f64x2.relaxed_nmadd ${V} ${V} ${V}))`, /relaxed SIMD/],
      ['relaxed swizzle', `(drop (i8x16.relaxed_swizzle ${V} ${V}))`, /relaxed SIMD/],
      ['relaxed trunc', `(drop (i32x4.relaxed_trunc_f32x4_s ${V}))`, /relaxed SIMD/],
      ['relaxed min', `(drop (f32x4.relaxed_min ${V} ${V}))`, /relaxed SIMD/],
      ['relaxed laneselect', `(drop (i8x16.relaxed_laneselect ${V} ${V} ${V}))`, /relaxed SIMD/],
      ['relaxed q15mulr', `(drop (i16x8.relaxed_q15mulr_s ${V} ${V}))`, /relaxed SIMD/],
      ['relaxed dot', `(drop (i16x8.relaxed_dot_i8x16_i7x16_s ${V} ${V}))`, /relaxed SIMD/],
      ['atomic rmw', '(drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))', /thread|Atomic/],
      [
        'atomic wait',
        '(drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))',
        /thread|Atomic/,
      ],
      ['atomic fence', '(atomic.fence)', /thread|Atomic/],
    ]
    for (const [label, code, message] of cases) {
      const err = await executor.run(job(watProgram(code, null))).catch((e) => e)
      assert.equal(err.name, 'InvalidModuleError', label)
      assert.equal(err.code, 'E_INVALID_MODULE', label)
      assert.match(err.message, message, label)
      assert.match(err.hint, /relaxed SIMD/, label)
    }
    const whole: [string, string, RegExp][] = [
      [
        'shared memory',
        '(module (memory (export "memory") 1 1 shared) (func (export "_start")))',
        /shared memory/,
      ],
      [
        'memory64',
        '(module (memory (export "memory") i64 1) (func (export "_start")))',
        /memory64|not a valid/,
      ],
      [
        'two memories',
        '(module (memory (export "memory") 1) (memory 1) (func (export "_start")))',
        /2 memories|not a valid/,
      ],
      [
        'exceptions',
        '(module (tag $e) (memory (export "memory") 1) (func (export "_start") (throw $e)))',
        /Throw|exception|not a valid/,
      ],
      [
        'GC',
        '(module (type $s (struct (field i32))) (memory (export "memory") 1) (func (export "_start") (drop (struct.new $s (i32.const 1)))))',
        /StructNew|not a valid|determinism profile/,
      ],
      [
        'imported memory',
        '(module (import "env" "memory" (memory 1)) (export "memory" (memory 0)) (func (export "_start")))',
        /only wasi_snapshot_preview1/,
      ],
    ]
    for (const [label, source, message] of whole) {
      const err = await executor.run(job(wat(source))).catch((e) => e)
      assert.equal(err.name, 'InvalidModuleError', label)
      assert.match(err.message, message, label)
      assert.ok(err.hint, label)
    }
  })

  test('NaNs with different payloads give identical, canonical output after the pass', async () => {
    // Two quiet NaNs that differ only in payload (and sign) go through the same float
    // operations; the results are stored as raw bits and printed.
    const program = watProgram(
      `(i32.store (i32.const 100) (i32.reinterpret_f32 (f32.add (f32.load (i32.const 16)) (f32.const 1))))
       (i32.store (i32.const 104) (i32.reinterpret_f32 (f32.add (f32.load (i32.const 20)) (f32.const 1))))
       (i64.store (i32.const 108) (i64.reinterpret_f64 (f64.mul (f64.load (i32.const 24)) (f64.const 2))))
       (i64.store (i32.const 116) (i64.reinterpret_f64 (f64.mul (f64.load (i32.const 32)) (f64.const 2))))
       (i64.store (i32.const 124) (i64.reinterpret_f64 (f64.promote_f32 (f32.load (i32.const 20)))))
       (i32.store (i32.const 132) (i32.reinterpret_f32 (f32.demote_f64 (f64.load (i32.const 32)))))
       (v128.store (i32.const 136) (f32x4.add (v128.load (i32.const 40)) (v128.load (i32.const 56))))
       (i64.store (i32.const 152) (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.load (i32.const 72)))))`,
      { from: 100, len: 60 },
      `(data (i32.const 16) "\\01\\00\\c0\\7f" "\\02\\00\\c0\\ff"
         "\\01\\00\\00\\00\\00\\00\\f8\\7f" "\\03\\00\\00\\00\\00\\00\\f8\\ff"
         "\\05\\00\\c0\\7f\\00\\00\\c0\\ff\\00\\00\\80\\3f\\07\\00\\c0\\ff"
         "\\00\\00\\80\\3f\\09\\00\\c0\\7f\\00\\00\\00\\00\\0b\\00\\c0\\ff"
         "\\00\\00\\00\\00\\00\\00\\00\\00")`,
    )
    const result = await executor.run(job(program))
    const out = Buffer.from(result.stdout)
    const f32 = (offset: number) => out.readUInt32LE(offset)
    const f64 = (offset: number) => out.readBigUInt64LE(offset)
    assert.equal(f32(0), 0x7fc00000)
    assert.equal(f32(4), 0x7fc00000)
    assert.equal(f64(8), 0x7ff8000000000000n)
    assert.equal(f64(16), 0x7ff8000000000000n)
    assert.equal(f64(24), 0x7ff8000000000000n)
    assert.equal(f32(32), 0x7fc00000)
    for (const lane of [0, 1, 3]) assert.equal(f32(36 + lane * 4), 0x7fc00000, `lane ${lane}`)
    assert.equal(f32(36 + 2 * 4), 0x3f800000, 'a lane that is not NaN (1 + 0) is untouched')
    assert.equal(f64(52), 0x7ff8000000000000n, '0/0 is the positive canonical NaN')

    // Without the pass the same module keeps the payloads (x64 and arm64 propagate them):
    // this is what the pass removes.
    const raw = instrumentModule(program, { memoryMaxPages: 16, canonicalizeNaNs: false })
    const rawOut = runInProcess(raw)
    assert.notEqual(rawOut.readUInt32LE(0), rawOut.readUInt32LE(4), 'payloads differ without the pass')
  })

  test('the same jobs many times, interleaved on different workers: identical bytes and fuel', async () => {
    const mandelbrot = await exampleModule('mandelbrot')
    const wordcount = await exampleModule('wordcount')
    const probe = watProgram(
      `(drop (call $clock (i32.const 0) (i64.const 1) (i32.const 100)))
       (drop (call $random (i32.const 108) (i32.const 64)))
       (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 172)))`,
      { from: 100, len: 80 },
      `(import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
       (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))`,
    )
    const jobs = [
      job(mandelbrot, { moduleKey: 'm', args: TILE_ARGS }),
      job(wordcount, { args: ['s.txt'], inputs: [{ path: 's.txt', bytes: SAMPLE_TEXT }] }),
      job(probe, { seed: 'seed-1' }),
    ]
    const runs = await Promise.all(
      Array.from({ length: 24 }, (_, i) => executor.run(jobs[i % 3] as (typeof jobs)[number])),
    )
    for (let kind = 0; kind < 3; kind++) {
      const same = runs.filter((_, i) => i % 3 === kind)
      const first = same[0] as (typeof runs)[number]
      for (const run of same) {
        assert.deepEqual(run.stdout, first.stdout)
        assert.equal(run.fuelUsed, first.fuelUsed)
        assert.equal(run.exitCode, first.exitCode)
      }
    }
    assert.equal(text((runs[1] as (typeof runs)[number]).stdout), referenceWordcount([text(SAMPLE_TEXT)]))
  })

  test('the memory maximum is fixed by the job, whatever the module declares', async () => {
    // Declares no maximum, grows 1 page at a time until refused, prints how many pages it got.
    const grower = watProgram(
      `(block $done (loop $l
         (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
         (br $l)))
       (i32.store (i32.const 100) (memory.size))`,
      { from: 100, len: 4 },
    )
    for (const memoryMb of [1, 3]) {
      const result = await executor.run(job(grower, { limits: { ...DEFAULT_LIMITS, memoryMb } }))
      assert.equal(Buffer.from(result.stdout).readUInt32LE(0), memoryMb * 16)
    }
  })
})

function runInProcess(metered: Uint8Array): Buffer {
  let memory: WebAssembly.Memory | undefined
  let out = Buffer.alloc(0)
  const instance = new WebAssembly.Instance(new WebAssembly.Module(metered as Uint8Array<ArrayBuffer>), {
    bazaar: { fuel_limit: new WebAssembly.Global({ value: 'i64', mutable: false }, 1_000_000n) },
    wasi_snapshot_preview1: {
      fd_write: (_fd: number, iovs: number) => {
        const view = new DataView((memory as WebAssembly.Memory).buffer)
        const ptr = view.getUint32(iovs, true)
        const len = view.getUint32(iovs + 4, true)
        out = Buffer.from(new Uint8Array(view.buffer, ptr, len).slice())
        return 0
      },
      proc_exit: () => {},
    },
  })
  memory = instance.exports.memory as WebAssembly.Memory
  ;(instance.exports._start as () => void)()
  return out
}
