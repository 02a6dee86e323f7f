import { InvalidModuleError, MemoryLimitError } from './errors.ts'
import { WASM_PAGE_BYTES } from './memory-pages.ts'
import { FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, START_EXPORT, WASI_MODULE } from './metering.ts'

/**
 * The cheap half of the determinism profile, without binaryen: is it WebAssembly, is it a
 * WASI preview1 command, does its one memory fit the cap. The executor runs it on the main
 * thread (compiling asynchronously, off the event loop) before spending a worker on a
 * module; `instrumentModule` runs it again inside the worker before rewriting.
 */

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new InvalidModuleError(message, { details })
}

/** Imports only wasi_snapshot_preview1 functions; exports `_start` and `memory`; no reserved names. */
export function checkModuleInterface(compiled: WebAssembly.Module): void {
  for (const imp of WebAssembly.Module.imports(compiled)) {
    if (imp.module !== WASI_MODULE || imp.kind !== 'function') {
      fail(
        `the module imports ${imp.kind} ${imp.module}.${imp.name}; only ${WASI_MODULE} functions are provided`,
        { import: `${imp.module}.${imp.name}` },
      )
    }
  }
  const exports = new Map(WebAssembly.Module.exports(compiled).map((exp) => [exp.name, exp.kind]))
  if (exports.get('_start') !== 'function')
    fail('the module does not export a _start function (a WASI command)')
  if (exports.get('memory') !== 'memory') fail('the module does not export its memory as "memory"')
  for (const reserved of [FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, START_EXPORT]) {
    if (exports.has(reserved)) fail(`the module already exports ${reserved}, a name reserved for metering`)
  }
}

/** Validates with V8 (synchronously) and checks the interface. */
export function checkModuleSync(wasm: Uint8Array): void {
  let compiled: WebAssembly.Module
  try {
    compiled = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
  } catch (err) {
    fail(`not a valid WebAssembly module: ${err instanceof Error ? err.message : String(err)}`)
  }
  checkModuleInterface(compiled)
}

/**
 * Everything checkable before instrumenting, without blocking the event loop: validity
 * and interface (V8 compiles asynchronously; wasm bodies are compiled lazily, so this costs
 * about a validation), and the memory (one, not shared, not 64-bit, initial size within
 * `maxPages`). Throws InvalidModuleError or MemoryLimitError.
 */
export async function precheckModule(wasm: Uint8Array, maxPages: number): Promise<void> {
  let compiled: WebAssembly.Module
  try {
    compiled = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>)
  } catch (err) {
    fail(`not a valid WebAssembly module: ${err instanceof Error ? err.message : String(err)}`)
  }
  checkModuleInterface(compiled)
  checkMemoryCap(readMemorySection(wasm), maxPages)
}

export interface MemorySection {
  /** Offset of the section id byte, and of the end of the section. */
  start: number
  end: number
  initial: number
  /** Declared maximum in pages, or Infinity. */
  declaredMax: number
}

/** Finds the (single) memory section of a valid module and checks it is in the profile. */
export function readMemorySection(wasm: Uint8Array): MemorySection {
  let pos = 8
  while (pos < wasm.length) {
    const id = wasm[pos] as number
    const [size, contentStart] = readU32Leb(wasm, pos + 1)
    const end = contentStart + size
    if (id === 5) {
      const [count, flagsPos] = readU32Leb(wasm, contentStart)
      if (count !== 1) fail(`the module defines ${count} memories; exactly one is supported`)
      const flags = wasm[flagsPos] as number
      if (flags & 0x02) fail('the module uses shared memory: threads are not allowed')
      if (flags & ~0x01) fail('the module uses memory64 or custom page sizes, which are not supported')
      const [initial, afterInitial] = readU32Leb(wasm, flagsPos + 1)
      const declaredMax = flags & 0x01 ? readU32Leb(wasm, afterInitial)[0] : Number.POSITIVE_INFINITY
      return { start: pos, end, initial, declaredMax }
    }
    pos = end
  }
  return fail('the module defines no memory of its own')
}

/** An initial memory above the cap can never run: MemoryLimitError. */
export function checkMemoryCap(memory: MemorySection, maxPages: number): void {
  if (memory.initial > maxPages) {
    throw new MemoryLimitError(
      `the module's initial memory (${memory.initial} pages, ${(memory.initial * WASM_PAGE_BYTES) / 2 ** 20} MiB) exceeds the cap`,
      (maxPages * WASM_PAGE_BYTES) / 2 ** 20,
      undefined,
      { details: { initialPages: memory.initial, maxPages } },
    )
  }
}

export function readU32Leb(bytes: Uint8Array, start: number): [value: number, next: number] {
  let value = 0
  let shift = 0
  let pos = start
  for (;;) {
    const byte = bytes[pos++]
    if (byte === undefined || shift > 28) fail('malformed LEB128 in the module')
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return [value, pos]
    shift += 7
  }
}

export function u32Leb(value: number): number[] {
  const out: number[] = []
  let rest = value
  do {
    const byte = rest & 0x7f
    rest = Math.floor(rest / 128)
    out.push(rest === 0 ? byte : byte | 0x80)
  } while (rest !== 0)
  return out
}
