import type { WasmJob } from './executor.ts'
import { WASI_SIGNATURES, wasiImport } from './wasi-signatures.ts'

/**
 * Seeded generators for the executor fuzz test (fuzz.test.ts): byte-level mutations of real
 * modules, random section soup, random but valid programs, and random job fields. All draw
 * from one `Rng`, so a failing case is replayed from its seed.
 */

export class Rng {
  state: number
  constructor(seed: number) {
    this.state = seed >>> 0 || 1
  }
  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(max: number): number {
    return Math.floor(this.next() * max)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256))
  }
}

/** Flips bits, overwrites, inserts, deletes, duplicates or truncates; 1-8 edits. */
export function mutateBytes(rng: Rng, source: Uint8Array): Uint8Array {
  let bytes = Array.from(source)
  const edits = 1 + rng.int(8)
  for (let e = 0; e < edits && bytes.length > 0; e++) {
    const at = rng.int(bytes.length)
    switch (rng.int(6)) {
      case 0:
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(8))
        break
      case 1:
        bytes[at] = rng.pick([0, 0x7f, 0x80, 0xff, rng.int(256)])
        break
      case 2:
        bytes.splice(at, 0, ...rng.bytes(1 + rng.int(16)))
        break
      case 3:
        bytes.splice(at, 1 + rng.int(16))
        break
      case 4: {
        const from = rng.int(bytes.length)
        bytes.splice(at, 0, ...bytes.slice(from, from + 1 + rng.int(64)))
        break
      }
      case 5:
        bytes = bytes.slice(0, Math.max(8, at))
        break
    }
  }
  return Uint8Array.from(bytes)
}

/** The wasm header followed by sections with random ids, sizes and contents. */
export function randomSections(rng: Rng): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  const count = rng.int(7)
  for (let i = 0; i < count; i++) {
    const content = rng.bytes(rng.int(40))
    const size = rng.chance(0.9) ? content.length : rng.int(200)
    out.push(rng.int(14), size, ...content)
  }
  return Uint8Array.from(out)
}

const I32_BIN = [
  'add',
  'sub',
  'mul',
  'div_s',
  'div_u',
  'rem_s',
  'rem_u',
  'and',
  'or',
  'xor',
  'shl',
  'shr_s',
  'rotl',
]
const F64_BIN = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign']
const F64_UN = ['sqrt', 'ceil', 'floor', 'trunc', 'nearest', 'neg', 'abs']
const NAN_BITS = ['0x7ff8000000000001', '0xfff8000000000000', '0x7ff4000000000000', '0x7ff0000000000000']

/**
 * A valid WASI command with a random body: integer and float arithmetic (NaN payloads
 * included), bounded loops, loads and stores (some out of bounds), memory.grow, bulk memory,
 * recursion, calls to random WASI functions with random arguments, sometimes a start
 * function; it prints its first 64 bytes of memory.
 */
export function randomProgram(rng: Rng): string {
  let labels = 0
  const addr = () => `(i32.const ${rng.pick([0, 8, 64, 1024, 65528, 65536, 70000, -4, rng.int(65536)])})`
  const i32 = (depth: number): string => {
    if (depth <= 0 || rng.chance(0.3)) {
      return rng.pick([
        `(i32.const ${rng.pick([0, 1, -1, 7, 0x7fffffff, -0x80000000, rng.int(1000)])})`,
        '(local.get $a)',
        '(local.get $i)',
      ])
    }
    switch (rng.int(5)) {
      case 0:
        return `(i32.${rng.pick(I32_BIN)} ${i32(depth - 1)} ${i32(depth - 1)})`
      case 1:
        return `(i32.load ${addr()})`
      case 2:
        return `(i32.${rng.pick(['trunc_f64_s', 'trunc_sat_f64_u', 'trunc_f64_u'])} ${f64(depth - 1)})`
      case 3:
        return `(f64.${rng.pick(['lt', 'eq', 'ne', 'ge'])} ${f64(depth - 1)} ${f64(depth - 1)})`
      default:
        return `(i32.wrap_i64 (i64.${rng.pick(['mul', 'add', 'rotr'])} (local.get $b) (i64.extend_i32_s ${i32(depth - 1)})))`
    }
  }
  const f64 = (depth: number): string => {
    if (depth <= 0 || rng.chance(0.3)) {
      return rng.pick([
        `(f64.const ${rng.pick(['0', '-0', '1.5', '1e308', '-inf', 'nan', 'nan:0x4', rng.next().toString()])})`,
        `(f64.reinterpret_i64 (i64.const ${rng.pick(NAN_BITS)}))`,
        '(local.get $d)',
      ])
    }
    switch (rng.int(4)) {
      case 0:
        return `(f64.${rng.pick(F64_BIN)} ${f64(depth - 1)} ${f64(depth - 1)})`
      case 1:
        return `(f64.${rng.pick(F64_UN)} ${f64(depth - 1)})`
      case 2:
        return `(f64.promote_f32 (f32.demote_f64 ${f64(depth - 1)}))`
      default:
        return `(f64.load ${addr()})`
    }
  }
  const wasiCall = () => {
    const name = rng.pick(Object.keys(WASI_SIGNATURES).filter((n) => n !== 'proc_exit'))
    const args = (WASI_SIGNATURES[name] ?? []).map((type, i) =>
      i === 0 && rng.chance(0.7)
        ? `(${type}.const ${rng.int(5)})`
        : `(${type}.const ${rng.pick([0, 8, 16, 100, 65535, -1, rng.int(70000)])})`,
    )
    return `(drop (call $${name} ${args.join(' ')}))`
  }
  const statement = (depth: number): string => {
    switch (rng.int(12)) {
      case 0:
        return `(local.set $a ${i32(3)})`
      case 1:
        return `(local.set $d ${f64(3)})`
      case 2:
        return `(i32.store ${addr()} ${i32(2)})`
      case 3:
        return `(f64.store ${rng.pick(['(i32.const 16)', '(i32.const 24)', addr()])} ${f64(3)})`
      case 4: {
        if (depth <= 0) return '(nop)'
        const label = `$l${labels++}`
        const body = Array.from({ length: 1 + rng.int(3) }, () => statement(depth - 1)).join(' ')
        return `(local.set $i (i32.const 0)) (loop ${label} ${body}
          (br_if ${label} (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const ${rng.pick([1, 10, 1000, 100000])}))))`
      }
      case 5:
        return depth > 0
          ? `(if ${i32(2)} (then ${statement(depth - 1)}) (else ${statement(depth - 1)}))`
          : '(nop)'
      case 6:
        return `(drop (memory.grow (i32.const ${rng.pick([0, 1, 16, 1000, 65536, -1])})))`
      case 7:
        return rng.chance(0.5)
          ? `(memory.fill ${addr()} (i32.const ${rng.int(256)}) (i32.const ${rng.pick([0, 64, 4096, 65536, 1 << 20])}))`
          : `(memory.copy ${addr()} ${addr()} (i32.const ${rng.pick([0, 64, 4096, 65536])}))`
      case 8:
      case 9:
        return wasiCall()
      case 10:
        return rng.chance(0.2) ? `(drop (call $rec (i32.const ${rng.pick([10, 1000, 1000000])})))` : '(nop)'
      default:
        return rng.chance(0.1) ? '(unreachable)' : `(local.set $b (i64.extend_i32_u ${i32(2)}))`
    }
  }
  // Memory full of non-zero bytes: strings the host reads have no terminator in sight.
  const fill = rng.chance(0.2)
    ? `(memory.fill (i32.const 0) (i32.const ${1 + rng.int(255)}) (i32.const 65536))`
    : ''
  const body = fill + Array.from({ length: 1 + rng.int(10) }, () => statement(2)).join('\n')
  const start = rng.chance(0.1)
    ? `(func $init (local $a i32) (local $b i64) (local $d f64) (local $i i32) ${statement(1)}) (start $init)`
    : ''
  const exit = rng.chance(0.2) ? `(call $proc_exit (i32.const ${rng.pick([0, 1, 255, -1])}))` : ''
  return `(module
    ${Object.keys(WASI_SIGNATURES).map(wasiImport).join('\n')}
    (memory (export "memory") 1 ${rng.pick(['', '1', '2', '100'])})
    (func $rec (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
        (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get $n) (i32.const 1)))))))
    ${start}
    (func (export "_start") (local $a i32) (local $b i64) (local $d f64) (local $i i32)
      ${body}
      (i32.store (i32.const 65528) (i32.const 0)) (i32.store (i32.const 65532) (i32.const 64))
      (drop (call $fd_write (i32.const 1) (i32.const 65528) (i32.const 1) (i32.const 65520)))
      ${exit}))`
}

/** Mostly sensible, sometimes invalid, job fields around a module. */
export function randomJob(rng: Rng, module: Uint8Array, moduleKey?: string): WasmJob {
  const invalid = rng.chance(0.05)
  const limits = {
    fuel: rng.pick([1n, 100n, 10_000n, 1_000_000n, 5_000_000n]),
    memoryMb: rng.pick([1, 2, 16, 64]),
    timeoutMs: 10_000,
    outputBytes: rng.pick([0, 16, 4096, 1 << 20]),
  }
  if (invalid) {
    const field = rng.int(4)
    if (field === 0) limits.fuel = rng.pick([0n, -1n, 2n ** 64n])
    if (field === 1) limits.memoryMb = rng.pick([0, 4097, 1.5, Number.NaN])
    if (field === 2) limits.timeoutMs = rng.pick([0, -5, Number.NaN])
    if (field === 3) limits.outputBytes = rng.pick([-1, 0.5])
  }
  const name = () =>
    rng.chance(0.97)
      ? rng.pick(['a.txt', 'b', 'data.bin', 'x-1_2.csv'])
      : rng.pick(['../x', '', '.', 'a/b', 'é'])
  const inputs = Array.from({ length: rng.int(3) }, () => ({ path: name(), bytes: rng.bytes(rng.int(200)) }))
  const arg = () =>
    rng.pick(['--width', '64', '-1', '', 'ünïcode', '1e309', 'x'.repeat(rng.int(300)), 'a\tb'])
  const env: Record<string, string> = rng.chance(0.97) ? { LANG: 'C', K: arg() } : { 'A=B': 'x' }
  return {
    module,
    ...(moduleKey === undefined ? {} : { moduleKey }),
    args: Array.from({ length: rng.int(6) }, arg),
    env,
    inputs,
    limits,
    seed: String(rng.int(1000)),
  }
}

/** Random edits of a YAML text: replace, delete or duplicate characters and lines. */
export function mutateText(rng: Rng, text: string): string {
  let out = text
  for (let e = 1 + rng.int(3); e > 0; e--) {
    const at = rng.int(out.length)
    switch (rng.int(4)) {
      case 0:
        out =
          out.slice(0, at) + rng.pick([':', '-', ' ', '"', '\n', '0', '9', '{', '#', 'x']) + out.slice(at + 1)
        break
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + rng.int(10))
        break
      case 2: {
        const lines = out.split('\n')
        const line = rng.int(lines.length)
        lines.splice(line, 0, lines[rng.int(lines.length)] as string)
        out = lines.join('\n')
        break
      }
      default: {
        const lines = out.split('\n')
        lines.splice(rng.int(lines.length), 1)
        out = lines.join('\n')
      }
    }
  }
  return out
}
