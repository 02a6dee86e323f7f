import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import binaryen from 'binaryen'
import {
  buildExamples,
  EXAMPLE_NAMES,
  EXAMPLES_BUILD_DIR,
  type ExampleName,
} from '../../../examples/build.ts'
import type { WasmJob } from './executor.ts'

/** Test helpers: real example modules and small hand-written WAT modules. */

/** Builds the examples once if examples/build is missing (atomically: test files run in parallel). */
export async function exampleModule(name: ExampleName): Promise<Uint8Array> {
  const path = join(EXAMPLES_BUILD_DIR, `${name}.wasm`)
  if (!existsSync(path)) {
    const scratch = mkdtempSync(join(tmpdir(), 'bazaar-examples-'))
    try {
      await buildExamples({ outDir: scratch })
      mkdirSync(EXAMPLES_BUILD_DIR, { recursive: true })
      for (const example of EXAMPLE_NAMES) {
        const target = join(EXAMPLES_BUILD_DIR, `${example}.wasm`)
        if (!existsSync(target)) renameSync(join(scratch, `${example}.wasm`), target)
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  }
  return new Uint8Array(readFileSync(path))
}

export const SAMPLE_TEXT = new Uint8Array(
  readFileSync(new URL('../../../examples/data/sample.txt', import.meta.url)),
)

/** Assembles WebAssembly text with binaryen (every feature on, so profile violations can be written). */
export function wat(text: string): Uint8Array {
  const module = binaryen.parseText(text)
  try {
    // Not CompactImports (missing from binaryen's typings): V8 does not read that import encoding.
    const compactImports = (binaryen.Features as unknown as Record<string, number>).CompactImports ?? 0
    module.setFeatures(binaryen.Features.All & ~compactImports)
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}

export const WASI_IMPORTS = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
`

/** `_start` body `code`, then writes memory[from, from + len) to stdout. */
export function watProgram(
  code: string,
  output: { from: number; len: number } | null,
  extra = '',
): Uint8Array {
  const write = output
    ? `(i32.store (i32.const 0) (i32.const ${output.from}))
       (i32.store (i32.const 4) (i32.const ${output.len}))
       (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))`
    : ''
  return wat(`(module
    ${WASI_IMPORTS}
    ${extra}
    (memory (export "memory") 1)
    (func (export "_start") (local $i i32) ${code} ${write}))`)
}

export const DEFAULT_LIMITS: WasmJob['limits'] = {
  fuel: 10_000_000_000n,
  memoryMb: 64,
  timeoutMs: 20_000,
  outputBytes: 1 << 20,
}

export function job(module: Uint8Array, overrides: Partial<WasmJob> = {}): WasmJob {
  return { module, args: [], env: { LANG: 'C' }, inputs: [], limits: DEFAULT_LIMITS, ...overrides }
}

/** The mandelbrot tile the tests and the spec use: 64x64 at (64, 128) of 512x512, 256 iterations. */
export const TILE_ARGS = [
  '--width',
  '512',
  '--height',
  '512',
  '--x0',
  '64',
  '--y0',
  '128',
  '--tile-width',
  '64',
  '--tile-height',
  '64',
  '--max-iter',
  '256',
]

/** What wordcount should print, computed independently. */
export function referenceWordcount(texts: string[]): string {
  const counts = new Map<string, number>()
  let words = 0
  for (const text of texts) {
    for (const word of text.split(/[ \t\n\v\f\r]+/)) {
      if (!word) continue
      const lower = word.replace(/[A-Z]/g, (c) => c.toLowerCase())
      counts.set(lower, (counts.get(lower) ?? 0) + 1)
      words++
    }
  }
  const top = [...counts.entries()]
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, 10)
  return `${JSON.stringify({ words, unique: counts.size, top })}\n`
}
