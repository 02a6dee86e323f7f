import binaryen from 'binaryen'
import { type PlanEvent, type PlanLabel, planCharges, type RegionKind } from './charge-plan.ts'
import { InvalidModuleError } from './errors.ts'
import {
  BULK_BYTES_PER_FUEL,
  FUEL_EXPORT,
  FUEL_LIMIT_IMPORT,
  MEMORY_EXCEEDED_EXPORT,
  MIN_REGION_COST,
  START_EXPORT,
  UNCHECKED_CALL_NODES,
} from './metering.ts'
import { checkMemoryCap, checkModuleSync, readMemorySection, u32Leb } from './module-check.ts'

/**
 * Fuel metering and the determinism profile, as a rewrite of the module with binaryen.
 *
 * WHAT ONE FUEL UNIT IS (unchanged since metering version 2; part of the protocol: changing
 * any rule below, or the binaryen version that reads the module, changes fuel counts, so
 * bump METER_VERSION; docs/execution.md has the same rules with examples):
 *
 * The module is read into binaryen IR (no optimization) and each function body is split
 * into regions, code that runs from one entry point to the next:
 *   - the function body (entered on every call);
 *   - every `loop` body (entered on every iteration: a `br` to the loop label re-enters it);
 *   - every arm (then / else) of an `if` (entered when taken);
 *   - in a `block`, the children that follow a child containing a branch (`br`, `br_if`,
 *     `br_table`, `return`, `return_call*`): a "segment", entered only if control gets there.
 * The static cost of a region is the number of binaryen IR expression nodes in it (about
 * one per wasm instruction), not counting nodes of nested regions; the `loop` / `if` node
 * and the if's condition count in the enclosing region. Then:
 *   1. Call-site charging: a function reachable only by direct calls (not exported, not the
 *      start function, not in a table, not named by `ref.func`) and not chosen to break a
 *      cycle is "hoisted": its entry region's cost is added to every region holding a
 *      direct `call` / `return_call` to it (once per call instruction) and its entry
 *      charges nothing. Cycles of direct calls are broken by a depth-first search from each
 *      function in module order (callees in call order): the target of every back edge
 *      keeps its own entry charge, so a recursion pays on every turn. Callees are settled
 *      before callers (hoisted functions form no cycle). This takes one global
 *      read-modify-write per call out of call-heavy code.
 *   2. Merging: an arm or a segment costing less than MIN_REGION_COST (32, including costs
 *      added by rule 1) is merged into its enclosing region (charged with it, taken or not);
 *      a segment that follows no branch is merged too (it always runs with its
 *      predecessor). Merging is done innermost and last first.
 * The fuel a run uses is the sum of the costs of the regions it enters (each time it enters
 * them). In addition, `memory.copy`, `memory.fill` and `memory.init` cost floor(n / 16) for
 * n bytes (charged before the operation, so a huge copy cannot run for free). Host calls
 * (WASI) cost only their `call` node; instructions injected by this rewrite cost nothing.
 *
 * The counter is a mutable i64 global, initialized from the imported immutable global
 * `bazaar.fuel_limit` (so a wasm start function is metered too) and exported as
 * `__bazaar_fuel`. After the run, fuel used = limit - counter, or the whole limit if the
 * counter is negative (out of fuel). A job that needs exactly its limit succeeds, and one
 * unit less runs out of fuel.
 *
 * WHERE CHARGES ARE MADE (metering version 3; charge-plan.ts): a region's cost is
 * subtracted when control enters it, except that a region the heuristics call likely (see
 * LIKELY REGIONS) is subtracted together with its enclosing charged region ("prepaid"), and
 * added back on every path that skips it ("refunded"), when the code in between calls
 * nothing, holds no loop and can be refunded on every exit. So a run that does not trap
 * uses exactly the fuel above, and D, the prepaid amount not yet consumed or refunded, is
 * known at every point. The counter is checked (`if (fuel < -D) unreachable`, i.e. the
 * fuel above went below zero) at each loop iteration (in the arm of a leading test and on
 * the way out when only straight-line code comes before the test), at the entry of
 * functions that are not hoisted, at the entry of regions whose calls to hoisted functions
 * add up to more than UNCHECKED_CALL_NODES nodes, in the (inline) bulk memory charge,
 * before every call to an import (the host always sees a counter that is exact and not
 * below zero) and when `_start` or the start function returns. Other charges only subtract: once the fuel is spent, at most
 * the straight-line code up to the next check runs before the job traps out of fuel, which
 * is the same outcome (out of fuel, billed the whole limit) as an immediate trap. A trap is
 * billed the fuel charged so far plus D at the trap (prepaid code it skipped); when that
 * exceeds the limit the counter is below zero and the job is out of fuel. With no window
 * (`prepay: false`) every region is charged at its own entry; the fuel of every run that
 * does not trap is the same.
 *
 * LIKELY REGIONS (heuristics; they decide where charges go, not what anything costs): the
 * then arm of a loop's leading `if` (the loop goes on); an arm whose other arm is a
 * constant, a local or global read or a nop (`c ? x : 0`, `a && b`); a segment after a
 * guard (an `if` with no else whose then arm ends with return, br, br_table or
 * unreachable); a segment after a `br_if` / `br` to a block followed by `unreachable` (or
 * a call then `unreachable`: AssemblyScript's stack and bounds checks). And the code a
 * hoisted callee prepays at its entry: its callers prepay it with the region holding the
 * call, or subtract it right before the call.
 *
 * DETERMINISM PROFILE (rejected with InvalidModuleError): threads (shared memory, atomics),
 * relaxed SIMD, GC, exception handling, stringref, memory64, multi-memory, and every
 * import other than `wasi_snapshot_preview1` functions. NaN canonicalization: binaryen 132
 * has no such pass (`--denan` turns NaNs into 0, which changes results), so this rewrite
 * does it. The rule (what a program can observe): the result of every float operation that
 * can create a NaN (add, sub, mul, div, min, max, sqrt, ceil, floor, trunc, nearest,
 * promote, demote; scalar and f32x4/f64x2) is the canonical quiet NaN (0x7fc00000 /
 * 0x7ff8000000000000) when it is a NaN. Loads, stores, locals, neg / abs / copysign and
 * reinterpretations keep bits exactly, as wasm says. How: such a result is canonicalized
 * (a compare and a select) where it is consumed, unless the consumer is another such
 * operation, a comparison, a float-to-int truncation or a drop (none lets NaN bits
 * through: any NaN gives the same result), or a local.set of a "deferred" local.
 * Deferred: a scalar f32/f64 local (not a parameter) whose every local.set is such an
 * operation, an int-to-float conversion, a non-NaN constant, or another deferred local
 * (a fixpoint per function). Its value's canonical form is always what the rule says it
 * holds, so it is canonicalized where read by anything else (a store, a reinterpretation,
 * neg / abs / copysign, a call, a return, a global, select, a block value, a non-deferred
 * local): the same bits reach every observer as with canonicalization at each operation.
 * This takes the compare / select out of float loops that keep their state in locals
 * (mandelbrot: 1.13 -> 1.02 of unmetered). A local that may also hold a loaded or passed
 * value is not deferred, so a loaded NaN payload is never changed. v128 values are
 * canonicalized at each operation as before (integer SIMD operations see their bits).
 *
 * START FUNCTION: exported as START_EXPORT and removed from the start section; the sandbox
 * calls it right before `_start`, so it is metered and timed like the rest.
 *
 * MEMORY: the memory's maximum is set to min(declared maximum, memoryMaxPages); an initial
 * size above the cap is a MemoryLimitError. `memory.grow` keeps its standard semantics
 * (returns -1 past the maximum, deterministically), and a failing grow sets the exported
 * i32 global `__bazaar_memory_exceeded` so the host can report a later trap (AssemblyScript
 * and Rust abort when allocation fails) as MemoryLimitError rather than a plain trap.
 */

export interface InstrumentOptions {
  /** Memory cap in 64 KiB pages (1 MiB = 16 pages). */
  memoryMaxPages: number
  /**
   * Default true. false leaves NaN bits as the hardware makes them: only for measuring what
   * canonicalization costs (bench/suites/execution.ts); such a module is not deterministic.
   */
  canonicalizeNaNs?: boolean
  /**
   * Default true. false charges every region at its own entry (no prepaying, see
   * charge-plan.ts): the same fuel for every run that does not trap; only for tests that
   * compare the two placements.
   */
  prepay?: boolean
}

type ExpressionRef = number
type Slot = (replacement: ExpressionRef) => void
type FloatKind = 'f32' | 'f64' | 'f32x4' | 'f64x2'
/**
 * Who reads a value: 'blind' (a float operation or comparison, which cannot let NaN bits
 * through), a local index (local.set / local.tee of that local), or 'sink' (anything else).
 */
type Consumer = 'blind' | 'sink' | number

// binaryen.js has the C function but no typed wrapper for adding a local.
const addVar = (binaryen as unknown as { _BinaryenFunctionAddVar(func: number, type: number): number })
  ._BinaryenFunctionAddVar

// binaryen.js 132 takes the features as readBinary's second argument (its typings say
// readBinaryWithFeatures, which does not exist).
const readBinary = binaryen.readBinary as (data: Uint8Array, features: binaryen.Features) => binaryen.Module

/** The expression helpers binaryen.js has at runtime but not in its typings. */
interface ExpressionApi {
  Function: {
    getName(func: number): string
    getBody(func: number): ExpressionRef
    setBody(func: number, body: ExpressionRef): void
  }
  Block: {
    getName(expr: ExpressionRef): string | null
    getNumChildren(expr: ExpressionRef): number
    getChildAt(expr: ExpressionRef, index: number): ExpressionRef
    setChildAt(expr: ExpressionRef, index: number, child: ExpressionRef): void
  }
  If: {
    getCondition(expr: ExpressionRef): ExpressionRef
    getIfTrue(expr: ExpressionRef): ExpressionRef
    setIfTrue(expr: ExpressionRef, child: ExpressionRef): void
    getIfFalse(expr: ExpressionRef): ExpressionRef
    setIfFalse(expr: ExpressionRef, child: ExpressionRef): void
  }
  Loop: {
    getName(expr: ExpressionRef): string | null
    getBody(expr: ExpressionRef): ExpressionRef
    setBody(expr: ExpressionRef, body: ExpressionRef): void
  }
  Break: {
    getName(expr: ExpressionRef): string
    getCondition(expr: ExpressionRef): ExpressionRef
    getValue(expr: ExpressionRef): ExpressionRef
  }
  Switch: {
    getNames(expr: ExpressionRef): string[]
    getDefaultName(expr: ExpressionRef): string
    getValue(expr: ExpressionRef): ExpressionRef
  }
  LocalGet: { getIndex(expr: ExpressionRef): number }
  LocalSet: {
    getIndex(expr: ExpressionRef): number
    getValue(expr: ExpressionRef): ExpressionRef
    setValue(expr: ExpressionRef, value: ExpressionRef): void
    isTee(expr: ExpressionRef): boolean
  }
  Call: {
    isReturn(expr: ExpressionRef): boolean
    getTarget(expr: ExpressionRef): string
    getNumOperands(expr: ExpressionRef): number
    getOperandAt(expr: ExpressionRef, i: number): ExpressionRef
    setOperandAt(expr: ExpressionRef, i: number, c: ExpressionRef): void
  }
  RefFunc: { getFunc(expr: ExpressionRef): string }
  CallIndirect: { isReturn(expr: ExpressionRef): boolean }
  Load: { isAtomic(expr: ExpressionRef): boolean }
  Store: { isAtomic(expr: ExpressionRef): boolean }
  Unary: { getOp(expr: ExpressionRef): number; getValue(expr: ExpressionRef): ExpressionRef }
  Binary: {
    getOp(expr: ExpressionRef): number
    getLeft(expr: ExpressionRef): ExpressionRef
    getRight(expr: ExpressionRef): ExpressionRef
  }
  Select: {
    getIfTrue(expr: ExpressionRef): ExpressionRef
    getIfFalse(expr: ExpressionRef): ExpressionRef
    getCondition(expr: ExpressionRef): ExpressionRef
  }
  SIMDTernary: { getOp(expr: ExpressionRef): number }
}
const api = binaryen as unknown as ExpressionApi

const ALLOWED_FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SignExt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SIMD128 |
  binaryen.Features.Multivalue |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.TailCall |
  binaryen.Features.ExtendedConst |
  binaryen.Features.CallIndirectOverlong

function op(name: string): number {
  const value = (binaryen as unknown as Record<string, unknown>)[name]
  if (typeof value !== 'number') throw new Error(`binaryen has no operation ${name}`)
  return value
}

const VECTOR_KIND: Record<string, FloatKind> = {
  Float32: 'f32',
  Float64: 'f64',
  VecF32x4: 'f32x4',
  VecF64x2: 'f64x2',
}
const SUFFIXES = Object.keys(VECTOR_KIND)

/** Unary / binary operations whose result can be a fresh NaN: their results are canonicalized. */
const UNARY_NAN = new Map<number, FloatKind>()
const BINARY_NAN = new Map<number, FloatKind>()
/** Operations that consume a NaN without letting its bits through: no need to canonicalize their operands. */
const UNARY_BLIND = new Set<number>()
const BINARY_BLIND = new Set<number>()
for (const suffix of SUFFIXES) {
  const kind = VECTOR_KIND[suffix] as FloatKind
  for (const name of ['Sqrt', 'Ceil', 'Floor', 'Trunc', 'Nearest']) UNARY_NAN.set(op(name + suffix), kind)
  for (const name of ['Add', 'Sub', 'Mul', 'Div', 'Min', 'Max']) BINARY_NAN.set(op(name + suffix), kind)
  for (const name of ['Eq', 'Ne', 'Lt', 'Gt', 'Le', 'Ge']) BINARY_BLIND.add(op(name + suffix))
}
UNARY_NAN.set(op('PromoteFloat32'), 'f64')
UNARY_NAN.set(op('DemoteFloat64'), 'f32')
UNARY_NAN.set(op('PromoteLowVecF32x4ToVecF64x2'), 'f64x2')
UNARY_NAN.set(op('DemoteZeroVecF64x2ToVecF32x4'), 'f32x4')
for (const key of UNARY_NAN.keys()) UNARY_BLIND.add(key)
for (const key of BINARY_NAN.keys()) BINARY_BLIND.add(key)
// Float to integer: a NaN traps or gives 0 whatever its bits.
for (const s of ['S', 'U']) {
  for (const from of ['32', '64']) {
    for (const to of ['32', '64']) {
      UNARY_BLIND.add(op(`Trunc${s}Float${from}ToInt${to}`))
      UNARY_BLIND.add(op(`TruncSat${s}Float${from}ToInt${to}`))
    }
  }
}
/**
 * The `if` a loop starts with (a `for` / `while` test): the loop body is that `if`, or a block
 * whose children before it are `local.set`s; the `if` has no else arm. Its then arm is where
 * the loop goes on, so it is likely (see LIKELY REGIONS).
 */
function loopHeadIf(body: ExpressionRef): ExpressionRef | undefined {
  const isHead = (expr: ExpressionRef) =>
    binaryen.getExpressionId(expr) === binaryen.IfId && !api.If.getIfFalse(expr)
  if (isHead(body)) return body
  if (binaryen.getExpressionId(body) !== binaryen.BlockId) return undefined
  for (let i = 0; i < api.Block.getNumChildren(body); i++) {
    const child = api.Block.getChildAt(body, i)
    if (isHead(child)) return child
    const set = binaryen.getExpressionId(child) === binaryen.LocalSetId && !api.LocalSet.isTee(child)
    if (!set) return undefined
  }
  return undefined
}

/** An arm that does (almost) nothing: a constant, a local or global read, a nop. */
function trivialArm(expr: ExpressionRef): boolean {
  const id = binaryen.getExpressionId(expr)
  return (
    id === binaryen.ConstId ||
    id === binaryen.LocalGetId ||
    id === binaryen.GlobalGetId ||
    id === binaryen.NopId
  )
}

/**
 * The unconditional exit (return, br, br_table, unreachable) an expression always ends with,
 * if any. Only unlabeled blocks are looked into: a labeled one can be left by a `br` to it.
 */
function finalExit(expr: ExpressionRef): ExpressionRef | undefined {
  let last = expr
  while (binaryen.getExpressionId(last) === binaryen.BlockId) {
    if (api.Block.getName(last)) return undefined
    const count = api.Block.getNumChildren(last)
    if (count === 0) return undefined
    last = api.Block.getChildAt(last, count - 1)
  }
  const id = binaryen.getExpressionId(last)
  if (id === binaryen.ReturnId || id === binaryen.UnreachableId || id === binaryen.SwitchId) return last
  return id === binaryen.BreakId && !api.Break.getCondition(last) ? last : undefined
}

/** Block children from `from` on start with a trap: `unreachable`, or one call then `unreachable`. */
function startsWithTrap(block: ExpressionRef, from: number): boolean {
  const count = api.Block.getNumChildren(block)
  const id = (i: number) => (i < count ? binaryen.getExpressionId(api.Block.getChildAt(block, i)) : -1)
  return (
    id(from) === binaryen.UnreachableId ||
    (id(from) === binaryen.CallId && id(from + 1) === binaryen.UnreachableId)
  )
}

/**
 * A segment is likely when the block child before it is a guard (an `if` with no else whose
 * then arm ends by leaving: `if (c) return`) or a branch to a trap (`br_if` to a block
 * followed by `unreachable`, AssemblyScript's stack and bounds checks).
 */
function likelySegment(previous: ExpressionRef, coldLabels: ReadonlySet<string>): boolean {
  const id = binaryen.getExpressionId(previous)
  if (id === binaryen.IfId)
    return !api.If.getIfFalse(previous) && finalExit(api.If.getIfTrue(previous)) !== undefined
  return id === binaryen.BreakId && coldLabels.has(api.Break.getName(previous))
}

/** Integer to float: never a NaN, so a local set from one needs no canonicalization. */
const UNARY_NEVER_NAN = new Set(
  ['S', 'U'].flatMap((s) =>
    ['32', '64'].flatMap((from) => ['32', '64'].map((to) => op(`Convert${s}Int${from}ToFloat${to}`))),
  ),
)

const allOps = Object.keys(binaryen).filter((name) => /^[A-Z]/.test(name))
const UNARY_RELAXED = new Set(allOps.filter((name) => /^RelaxedTrunc/.test(name)).map(op))
const BINARY_RELAXED = new Set(
  allOps.filter((name) => /^Relaxed(Swizzle|Min|Max|Q15Mulr|DotI8x16I7x16SToVecI16x8)/.test(name)).map(op),
)

const ID_NAMES = new Map<number, string>(
  Object.entries(binaryen)
    .filter(([name, value]) => name.endsWith('Id') && typeof value === 'number')
    .map(([name, value]) => [value as number, name.slice(0, -2)]),
)

/** binaryen.js 132 takes one bigint for i64.const (its typings still say a number). */
function i64Const(m: binaryen.Module, value: bigint): ExpressionRef {
  return (m.i64.const as unknown as (value: bigint) => ExpressionRef)(value)
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new InvalidModuleError(message, { details })
}

/**
 * Returns a metered, capped copy of a WASI module (see the header comment for the rules).
 * Throws InvalidModuleError (not WebAssembly, outside the determinism profile, not a WASI
 * command) or MemoryLimitError (initial memory above the cap). Synchronous and CPU-bound:
 * the executor calls it inside a sandbox worker, never on the main thread.
 */
export function instrumentModule(wasm: Uint8Array, opts: InstrumentOptions): Uint8Array {
  const maxPages = opts.memoryMaxPages
  if (!Number.isInteger(maxPages) || maxPages < 1 || maxPages > 65_536) {
    throw new RangeError(`memoryMaxPages must be an integer in 1..65536, got ${maxPages}`)
  }
  checkModuleSync(wasm)
  // The original's memory must fit before we spend time rewriting it.
  checkMemoryCap(readMemorySection(wasm), maxPages)

  let module: binaryen.Module
  try {
    module = readBinary(wasm, binaryen.Features.All)
  } catch (err) {
    fail(`binaryen could not read the module: ${err instanceof Error ? err.message : String(err)}`)
  }
  try {
    new Instrumenter(module, maxPages, opts.canonicalizeNaNs ?? true, opts.prepay ?? true).run()
    module.setFeatures(ALLOWED_FEATURES)
    return patchMemoryMax(module.emitBinary(), maxPages)
  } finally {
    module.dispose()
  }
}

class Instrumenter {
  readonly module: binaryen.Module
  readonly maxPages: number
  readonly fuel: string
  readonly memoryExceeded: string
  readonly growCheck: string
  /** The module had a start function (now exported as START_EXPORT). */
  readonly start: boolean
  readonly canonicalizeNaNs: boolean
  readonly prepay: boolean
  /** Functions named by `ref.func` somewhere: callable indirectly, so never hoisted. */
  readonly referenced = new Set<string>()
  /** Imported functions (the host's). */
  readonly imports = new Set<string>()

  constructor(module: binaryen.Module, maxPages: number, canonicalizeNaNs: boolean, prepay: boolean) {
    this.module = module
    this.maxPages = maxPages
    this.canonicalizeNaNs = canonicalizeNaNs
    this.prepay = prepay
    const limit = this.freshName('global', '__bazaar_fuel_limit')
    this.fuel = this.freshName('global', '__bazaar_fuel')
    this.memoryExceeded = this.freshName('global', '__bazaar_memory_exceeded')
    this.growCheck = this.freshName('function', '__bazaar_grow_check')
    module.addGlobalImport(limit, FUEL_LIMIT_IMPORT.module, FUEL_LIMIT_IMPORT.name, binaryen.i64, false)
    module.addGlobal(this.fuel, binaryen.i64, true, module.global.get(limit, binaryen.i64))
    module.addGlobalExport(this.fuel, FUEL_EXPORT)
    module.addGlobal(this.memoryExceeded, binaryen.i32, true, module.i32.const(0))
    module.addGlobalExport(this.memoryExceeded, MEMORY_EXCEEDED_EXPORT)
    // V8 would run a start function inside `new WebAssembly.Instance`, before the host can
    // read the fuel counter or start the clock: hand it to the sandbox to call instead.
    const start = module.getStart()
    this.start = start !== 0
    if (start) {
      module.addFunctionExport(binaryen.getFunctionInfo(start).name, START_EXPORT)
      module.setStart(0 as binaryen.FunctionRef)
    }
  }

  freshName(kind: 'global' | 'function', base: string): string {
    const exists = (name: string) =>
      kind === 'global' ? this.module.getGlobal(name) !== 0 : this.module.getFunction(name) !== 0
    let name = base
    for (let i = 1; exists(name); i++) name = `${base}_${i}`
    return name
  }

  run(): void {
    // Collect first: the helper functions added below must not be instrumented.
    const functions: number[] = []
    for (let i = 0; i < this.module.getNumFunctions(); i++) {
      const func = this.module.getFunctionByIndex(i)
      if (binaryen.getFunctionInfo(func).module) this.imports.add(binaryen.getFunctionInfo(func).name)
      else functions.push(func)
    }
    // Walk every function first: call-site charging needs each callee's entry cost, which
    // is known once the callee's regions are folded, and which functions may be charged at
    // their call sites (hoistable) depends on the whole call graph.
    const plans = new Map<string, FunctionPlan>()
    for (const func of functions) {
      const plan = this.instrumentFunction(func)
      plans.set(plan.name, plan)
    }
    const hoisted = this.hoistable(plans)
    const entryCosts = new Map<string, number>()
    const prepaidEntries = new Map<string, number>()
    const sizes = new Map<string, number>()
    const settled = new Set<string>()
    // Callees first (post-order over hoisted callees, which form no cycle).
    const settle = (root: FunctionPlan) => {
      const stack: { plan: FunctionPlan; next: number }[] = [{ plan: root, next: 0 }]
      settled.add(root.name)
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as { plan: FunctionPlan; next: number }
        const call = top.plan.calls[top.next++]
        if (call) {
          const callee = plans.get(call.callee)
          if (callee && hoisted.has(callee.name) && !settled.has(callee.name)) {
            settled.add(callee.name)
            stack.push({ plan: callee, next: 0 })
          }
          continue
        }
        stack.pop()
        const { entryCost, prepaidEntry, size } = top.plan.finish({
          entryCosts,
          hoisted,
          prepaidEntries,
          sizes,
        })
        if (hoisted.has(top.plan.name)) {
          entryCosts.set(top.plan.name, entryCost)
          prepaidEntries.set(top.plan.name, prepaidEntry)
          sizes.set(top.plan.name, size)
        }
      }
    }
    for (const plan of plans.values()) if (!settled.has(plan.name)) settle(plan)
    this.addHelpers()
    this.checkOnReturn('_start')
    if (this.start) this.checkOnReturn(START_EXPORT)
  }

  /**
   * Re-exports an entry point through a wrapper that checks the counter after it returns:
   * regions without a check may leave it below zero (see UNCHECKED_CALL_NODES), and a run
   * must not end successfully like that.
   */
  checkOnReturn(exportName: string): void {
    const m = this.module
    const target = binaryen.getExportInfo(m.getExport(exportName)).value
    const info = binaryen.getFunctionInfo(m.getFunction(target))
    const params = binaryen.expandType(info.params)
    const call = m.call(
      target,
      params.map((type, i) => m.local.get(i, type)),
      info.results,
    )
    const check = this.checkCounter(0)
    const body =
      info.results === binaryen.none
        ? m.block(null, [call, check])
        : m.block(
            null,
            [m.local.set(params.length, call), check, m.local.get(params.length, info.results)],
            info.results,
          )
    const wrapper = this.freshName('function', `__bazaar_checked${exportName}`)
    m.addFunction(
      wrapper,
      info.params,
      info.results,
      info.results === binaryen.none ? [] : [info.results],
      body,
    )
    m.removeExport(exportName)
    m.addFunctionExport(wrapper, exportName)
  }

  /**
   * Functions charged at their call sites: reachable only through direct calls (not
   * exported, not the start function, not in a table, not taken by `ref.func`) and not
   * chosen to break a cycle of direct calls (so entry costs are finite sums, and a
   * recursion still pays at every turn).
   */
  hoistable(plans: Map<string, FunctionPlan>): Set<string> {
    const m = this.module
    const escaped = new Set<string>(this.referenced)
    for (let i = 0; i < m.getNumExports(); i++) {
      const info = binaryen.getExportInfo(m.getExportByIndex(i))
      if (info.kind === binaryen.ExternalFunction) escaped.add(info.value)
    }
    for (let i = 0; i < m.getNumElementSegments(); i++) {
      for (const name of binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(i)).data) escaped.add(name)
    }
    const start = m.getStart()
    if (start) escaped.add(binaryen.getFunctionInfo(start).name)
    // Break every cycle of direct calls: a depth-first search from each function in module
    // order; the target of each back edge (a call to a function still on the search path)
    // keeps its own entry charge. Every cycle has a back edge, so what is left is acyclic.
    const onCycle = new Set<string>()
    const state = new Map<string, 'open' | 'done'>()
    for (const first of plans.keys()) {
      if (state.has(first)) continue
      const work: { name: string; next: number }[] = [{ name: first, next: 0 }]
      state.set(first, 'open')
      while (work.length > 0) {
        const frame = work[work.length - 1] as { name: string; next: number }
        const call = (plans.get(frame.name) as FunctionPlan).calls[frame.next++]
        if (!call) {
          state.set(frame.name, 'done')
          work.pop()
          continue
        }
        if (!plans.has(call.callee)) continue // an import
        const seen = state.get(call.callee)
        if (seen === 'open') onCycle.add(call.callee)
        else if (seen === undefined) {
          state.set(call.callee, 'open')
          work.push({ name: call.callee, next: 0 })
        }
      }
    }
    return new Set([...plans.keys()].filter((name) => !escaped.has(name) && !onCycle.has(name)))
  }

  /**
   * `fuel += delta` (delta may be negative), no check. The code is kept small: V8 decides
   * what to inline by function size, and a check reads the global again rather than a copy
   * in a local (V8 forwards the value just stored).
   */
  adjust(delta: number): ExpressionRef {
    const m = this.module
    return m.global.set(
      this.fuel,
      m.i64.add(m.global.get(this.fuel, binaryen.i64), i64Const(m, BigInt(delta))),
    )
  }

  /** `if (fuel < -threshold) unreachable` (threshold: see charge-plan.ts). */
  checkCounter(threshold: number): ExpressionRef {
    const m = this.module
    return m.if(
      m.i64.lt_s(m.global.get(this.fuel, binaryen.i64), i64Const(m, -BigInt(threshold))),
      m.unreachable(),
    )
  }

  addHelpers(): void {
    const m = this.module
    const i32 = binaryen.i32
    m.addFunction(
      this.growCheck,
      i32,
      i32,
      [],
      m.block(
        null,
        [
          m.if(
            m.i64.gt_u(
              m.i64.add(m.i64.extend_u(m.memory.size()), m.i64.extend_u(m.local.get(0, i32))),
              i64Const(m, BigInt(this.maxPages)),
            ),
            m.global.set(this.memoryExceeded, m.i32.const(1)),
          ),
          m.local.get(0, i32),
        ],
        i32,
      ),
    )
  }

  /** Walks one function (regions, NaN canonicalization candidates); `finish` emits its charges. */
  instrumentFunction(func: number): FunctionPlan {
    const m = this.module
    const name = api.Function.getName(func)
    /** Direct calls, by the region they are in (the callee's entry cost may be added there). */
    const calls: { region: number; callee: string }[] = []

    // Regions (see the header comment). Each is charged at its entry unless folded into
    // its parent; `apply` inserts the charge once the walk is done.
    interface Region {
      cost: number
      parent: number
      kind: RegionKind
      /** For a segment: the code before it may branch away, so it is not always reached. */
      branched: boolean
      apply: (charge: ExpressionRef[]) => void
      /** Positions of its first node and one past its last (see charge-plan.ts). */
      start: number
      end: number
      /** The heuristics expect it to run whenever its enclosing region runs (see LIKELY REGIONS). */
      likely: boolean
      /** Arms: their `if` (index into `ifs`), and their final unconditional exit, if any. */
      loopHead?: boolean
      ifIndex?: number
      exitNode?: ExpressionRef
    }
    const regions: Region[] = []
    const addRegion = (region: Omit<Region, 'start' | 'end' | 'likely'> & { likely?: boolean }) =>
      regions.push({ likely: false, ...region, start: -1, end: -1 }) - 1
    let branches = 0
    /** `if` expressions that are a loop's body (or start it after local.sets): their then arm is likely. */
    const loopHeads = new Set<ExpressionRef>()
    // What charge-plan.ts needs to know about the code: positions (pre-order index of each
    // node), calls, branches and other exits, labels and `if`s.
    let pos = 0
    const events: (PlanEvent & { node: ExpressionRef; slot: Slot })[] = []
    const eventOf = new Map<ExpressionRef, number>()
    /** Bulk memory events, to the block that charges their size (its child 2 becomes the check). */
    const bulkSizes = new Map<number, ExpressionRef>()
    let bulkTemp: number | undefined
    const labels = new Map<string, PlanLabel>()
    let duplicateLabel = false
    const ifs: { node: ExpressionRef; thenArm: number; elseArm?: number }[] = []
    /** Block labels whose continuation (the code after the block) is a trap. */
    const coldLabels = new Set<string>()

    const temps = new Map<FloatKind, number>()
    const temp = (kind: FloatKind) => {
      let index = temps.get(kind)
      if (index === undefined) {
        const type = kind === 'f32' ? binaryen.f32 : kind === 'f64' ? binaryen.f64 : binaryen.v128
        index = addVar(func, type)
        temps.set(kind, index)
      }
      return index
    }
    const canonicalize = (expr: ExpressionRef, kind: FloatKind): ExpressionRef => {
      const t = temp(kind)
      if (kind === 'f32') {
        const get = () => m.local.get(t, binaryen.f32)
        return m.select(
          m.f32.ne(get(), get()),
          m.f32.const_bits(0x7fc00000),
          m.local.tee(t, expr, binaryen.f32),
        )
      }
      if (kind === 'f64') {
        const get = () => m.local.get(t, binaryen.f64)
        return m.select(
          m.f64.ne(get(), get()),
          m.f64.const_bits(0x7ff8000000000000n),
          m.local.tee(t, expr, binaryen.f64),
        )
      }
      const get = () => m.local.get(t, binaryen.v128)
      const lane = kind === 'f32x4' ? [0, 0, 0xc0, 0x7f] : [0, 0, 0, 0, 0, 0, 0xf8, 0x7f]
      const canon = m.v128.const(Array.from({ length: 16 }, (_, i) => lane[i % lane.length] as number))
      const nanMask = kind === 'f32x4' ? m.f32x4.ne(get(), get()) : m.f64x2.ne(get(), get())
      return m.v128.bitselect(canon, m.local.tee(t, expr, binaryen.v128), nanMask)
    }
    const prepend = (charge: ExpressionRef[], body: ExpressionRef) =>
      m.block(null, [...charge, body], binaryen.auto)

    // Deferred NaN canonicalization (see "NaN canonicalization" in the header comment).
    // Scalar float locals that are only ever set from a float operation that can make a
    // NaN, an int-to-float conversion, a non-NaN constant or another such local hold a
    // value whose canonical form is what eager canonicalization would have stored; they
    // are "deferred": stored unchanged, canonicalized where read by anything but a float
    // operation, a comparison or another deferred local. Decided after the walk, once all
    // local.set / local.tee are known.
    const info = binaryen.getFunctionInfo(func)
    const numParams = binaryen.expandType(info.params).length
    const candidates = new Set<number>()
    info.vars.forEach((type, i) => {
      if (type === binaryen.f32 || type === binaryen.f64) candidates.add(numParams + i)
    })
    /** What a local.set value is: 'safe', 'unsafe', or safe if that local is deferred. */
    const classify = (value: ExpressionRef): 'safe' | 'unsafe' | number => {
      const id = binaryen.getExpressionId(value)
      if (id === binaryen.UnaryId) {
        const code = api.Unary.getOp(value)
        const kind = UNARY_NAN.get(code)
        return kind === 'f32' || kind === 'f64' || UNARY_NEVER_NAN.has(code) ? 'safe' : 'unsafe'
      }
      if (id === binaryen.BinaryId) {
        const kind = BINARY_NAN.get(api.Binary.getOp(value))
        return kind === 'f32' || kind === 'f64' ? 'safe' : 'unsafe'
      }
      if (id === binaryen.ConstId) {
        return Number.isNaN((binaryen.getExpressionInfo(value) as unknown as { value: number }).value)
          ? 'unsafe'
          : 'safe'
      }
      if (id === binaryen.LocalGetId) return api.LocalGet.getIndex(value)
      if (id === binaryen.LocalSetId) return classify(api.LocalSet.getValue(value))
      return 'unsafe'
    }
    const sets: { target: number; value: 'safe' | 'unsafe' | number }[] = []
    /** Canonicalizations decided after the walk; `local`: only if that local is deferred. */
    const pending: {
      slot: Slot
      expr: ExpressionRef
      kind: FloatKind
      consumer: Consumer
      local?: number
    }[] = []
    const floatKind = (expr: ExpressionRef): FloatKind | undefined => {
      const type = binaryen.getExpressionType(expr)
      return type === binaryen.f32 ? 'f32' : type === binaryen.f64 ? 'f64' : undefined
    }

    interface Frame {
      expr: ExpressionRef
      region: number
      slot: Slot
      /** Who reads this expression's value: decides whether a NaN in it must be canonical. */
      consumer: Consumer
      /** Decides the region when the frame is reached (block children start segments). */
      enter?: () => number
      /** The code that runs after this expression completes normally is a trap. */
      cold?: boolean
    }
    /** Runs once the subtree pushed before it is walked (records where it ends). */
    interface Exit {
      exit: () => void
    }
    const root = addRegion({
      cost: 0,
      parent: -1,
      kind: 'function',
      branched: true,
      apply: (charge) => api.Function.setBody(func, prepend(charge, api.Function.getBody(func))),
    })
    const stack: (Frame | Exit)[] = [
      {
        expr: api.Function.getBody(func),
        region: root,
        slot: (e) => api.Function.setBody(func, e),
        consumer: 'sink',
      },
    ]
    // Child accessors are looked up by class: api.Binary.getLeft / setLeft, etc.
    type Accessors = Record<string, (expr: ExpressionRef, ...rest: number[]) => number>
    const classes = binaryen as unknown as Record<string, Accessors>
    const push = (
      parent: ExpressionRef,
      cls: string,
      field: string,
      region: number,
      consumer: Consumer = 'sink',
      cold = false,
    ) => {
      const accessors = classes[cls] as Accessors
      const child = (accessors[`get${field}`] as (expr: ExpressionRef) => number)(parent)
      if (child) {
        const set = accessors[`set${field}`] as (expr: ExpressionRef, value: number) => void
        stack.push({ expr: child, region, slot: (e) => set(parent, e), consumer, cold })
      }
    }
    /** Calls `done` with the position after the subtree(s) pushed next. */
    const whenDone = (done: (end: number) => void) => stack.push({ exit: () => done(pos) })
    const addEvent = (
      frame: Frame,
      at: number,
      region: number,
      event: Omit<PlanEvent, 'start' | 'end' | 'region'>,
    ) => {
      const index =
        events.push({ ...event, start: at, end: at + 1, region, node: frame.expr, slot: frame.slot }) - 1
      eventOf.set(frame.expr, index)
      whenDone((end) => {
        ;(events[index] as PlanEvent).end = end
      })
    }
    const addLabel = (label: string | null, loop: boolean, at: number) => {
      if (!label) return
      if (labels.has(label)) duplicateLabel = true
      const entry = { loop, start: at, end: at + 1 }
      labels.set(label, entry)
      whenDone((end) => {
        entry.end = end
      })
    }
    const pushOperands = (parent: ExpressionRef, cls: string, region: number) => {
      const accessors = classes[cls] as Accessors
      const count = (accessors.getNumOperands as (e: number) => number)(parent)
      const getAt = accessors.getOperandAt as (e: number, i: number) => number
      const setAt = accessors.setOperandAt as (e: number, i: number, v: number) => void
      for (let i = count - 1; i >= 0; i--) {
        stack.push({ expr: getAt(parent, i), region, slot: (e) => setAt(parent, i, e), consumer: 'sink' })
      }
    }
    /** Block children after the first may start a segment: known once the previous child is walked. */
    const pushBlockChildren = (block: ExpressionRef, region: number, cold: boolean) => {
      const count = api.Block.getNumChildren(block)
      const segment: number[] = []
      const branchesBefore: number[] = []
      whenDone((end) => {
        for (let i = 1; i < count; i++) (regions[segment[i] as number] as Region).end = end
      })
      for (let i = count - 1; i >= 0; i--) {
        stack.push({
          expr: api.Block.getChildAt(block, i),
          region,
          slot: (e) => api.Block.setChildAt(block, i, e),
          consumer: 'sink',
          cold: i === count - 1 ? cold : startsWithTrap(block, i + 1),
          enter: () => {
            branchesBefore[i] = branches
            if (i === 0) {
              segment[0] = region
              return region
            }
            segment[i] = addRegion({
              cost: 0,
              parent: segment[i - 1] as number,
              kind: 'segment',
              branched: branches > (branchesBefore[i - 1] as number),
              likely: likelySegment(api.Block.getChildAt(block, i - 1), coldLabels),
              apply: (charge) =>
                api.Block.setChildAt(block, i, prepend(charge, api.Block.getChildAt(block, i))),
            })
            return segment[i] as number
          },
        })
      }
    }
    /** Routes a size or delta operand through a helper call, then walks the original operand. */
    const wrapOperand = (
      parent: ExpressionRef,
      cls: string,
      field: string,
      helper: string,
      region: number,
    ) => {
      const accessors = classes[cls] as Accessors
      const operand = (accessors[`get${field}`] as (e: number) => number)(parent)
      const call = m.call(helper, [operand], binaryen.i32)
      ;(accessors[`set${field}`] as (e: number, v: number) => void)(parent, call)
      stack.push({
        expr: operand,
        region,
        slot: (e) => api.Call.setOperandAt(call, 0, e),
        consumer: 'sink',
      })
    }
    /**
     * A bulk memory operation's size becomes `(t = size, fuel -= t >> 4, check, t)`, inline
     * (a helper call would be small enough for V8 to inline, at the expense of inlining the
     * program's own functions). The check's threshold is known once the plan is.
     */
    const chargeSize = (parent: ExpressionRef, cls: string, region: number) => {
      const accessors = classes[cls] as Accessors
      const operand = (accessors.getSize as (e: number) => number)(parent)
      bulkTemp ??= addVar(func, binaryen.i32)
      const t = bulkTemp
      const set = m.local.set(t, operand)
      const fuel = this.fuel
      const bytes = m.i32.shr_u(m.local.get(t, binaryen.i32), m.i32.const(Math.log2(BULK_BYTES_PER_FUEL)))
      const charge = m.global.set(fuel, m.i64.sub(m.global.get(fuel, binaryen.i64), m.i64.extend_u(bytes)))
      const block = m.block(null, [set, charge, m.nop(), m.local.get(t, binaryen.i32)], binaryen.i32)
      bulkSizes.set(events.length - 1, block)
      ;(accessors.setSize as (e: number, v: number) => void)(parent, block)
      stack.push({ expr: operand, region, slot: (e) => api.LocalSet.setValue(set, e), consumer: 'sink' })
    }

    while (stack.length > 0) {
      const top = stack.pop() as Frame | Exit
      if ('exit' in top) {
        top.exit()
        continue
      }
      const frame = top
      const { expr, slot, consumer } = frame
      const at = pos++
      const region = frame.enter ? frame.enter() : frame.region
      const current = regions[region] as Region
      current.cost++
      if (current.start < 0) current.start = at
      const id = binaryen.getExpressionId(expr)
      switch (id) {
        case binaryen.BlockId: {
          const label = api.Block.getName(expr)
          if (label && frame.cold) coldLabels.add(label)
          addLabel(label, false, at)
          pushBlockChildren(expr, region, frame.cold === true)
          break
        }
        case binaryen.IfId: {
          const arms: number[] = []
          for (const arm of ['IfFalse', 'IfTrue'] as const) {
            const armExpr = api.If[`get${arm}`](expr)
            if (!armExpr) continue
            const other = api.If[arm === 'IfTrue' ? 'getIfFalse' : 'getIfTrue'](expr)
            const inner = addRegion({
              cost: 0,
              parent: region,
              kind: 'arm',
              branched: true,
              // The arm whose sibling is a constant or a local / global read (`a ? b : 0`,
              // `a && b`), and the then arm of a loop's leading test, run most of the time.
              likely: (other !== 0 && trivialArm(other)) || (arm === 'IfTrue' && loopHeads.has(expr)),
              loopHead: arm === 'IfTrue' && loopHeads.has(expr),
              ifIndex: ifs.length,
              exitNode: finalExit(armExpr),
              apply: (charge) => api.If[`set${arm}`](expr, prepend(charge, api.If[`get${arm}`](expr))),
            })
            arms.push(inner)
            whenDone((end) => {
              ;(regions[inner] as Region).end = end
            })
            push(expr, 'If', arm, inner, 'sink', frame.cold === true)
          }
          ifs.push({
            node: expr,
            thenArm: arms.at(-1) as number,
            ...(arms.length > 1 ? { elseArm: arms[0] } : {}),
          })
          push(expr, 'If', 'Condition', region)
          break
        }
        case binaryen.LoopId: {
          const inner = addRegion({
            cost: 0,
            parent: region,
            kind: 'loop',
            branched: true,
            apply: (charge) => api.Loop.setBody(expr, prepend(charge, api.Loop.getBody(expr))),
          })
          const head = loopHeadIf(api.Loop.getBody(expr))
          if (head) loopHeads.add(head)
          addLabel(api.Loop.getName(expr), true, at)
          whenDone((end) => {
            ;(regions[inner] as Region).end = end
          })
          push(expr, 'Loop', 'Body', inner, 'sink', frame.cold === true)
          break
        }
        case binaryen.BreakId: {
          branches++
          const target = api.Break.getName(expr)
          addEvent(frame, at, region, {
            kind: 'branch',
            conditional: api.Break.getCondition(expr) !== 0,
            value: api.Break.getValue(expr) !== 0,
            labels: [target],
          })
          push(expr, 'Break', 'Condition', region)
          push(expr, 'Break', 'Value', region)
          break
        }
        case binaryen.SwitchId: {
          branches++
          addEvent(frame, at, region, {
            kind: 'branch',
            conditional: false,
            value: api.Switch.getValue(expr) !== 0,
            labels: [...api.Switch.getNames(expr), api.Switch.getDefaultName(expr)],
          })
          push(expr, 'Switch', 'Condition', region)
          push(expr, 'Switch', 'Value', region)
          break
        }
        case binaryen.CallId: {
          const callee = api.Call.getTarget(expr)
          calls.push({ region, callee })
          if (api.Call.isReturn(expr)) branches++
          addEvent(frame, at, region, { kind: 'call', callee })
          pushOperands(expr, 'Call', region)
          break
        }
        case binaryen.CallIndirectId:
          if (api.CallIndirect.isReturn(expr)) branches++
          addEvent(frame, at, region, { kind: 'observer' })
          push(expr, 'CallIndirect', 'Target', region)
          pushOperands(expr, 'CallIndirect', region)
          break
        case binaryen.TupleMakeId:
          pushOperands(expr, 'TupleMake', region)
          break
        case binaryen.ReturnId:
          branches++
          addEvent(frame, at, region, { kind: 'return' })
          push(expr, 'Return', 'Value', region)
          break
        case binaryen.LocalSetId: {
          const target = api.LocalSet.getIndex(expr)
          push(expr, 'LocalSet', 'Value', region, target)
          if (candidates.has(target)) {
            sets.push({ target, value: classify(api.LocalSet.getValue(expr)) })
            const kind = api.LocalSet.isTee(expr) ? floatKind(expr) : undefined
            if (kind) pending.push({ slot, expr, kind, consumer, local: target })
          }
          break
        }
        case binaryen.LocalGetId: {
          const index = api.LocalGet.getIndex(expr)
          const kind = candidates.has(index) ? floatKind(expr) : undefined
          if (kind) pending.push({ slot, expr, kind, consumer, local: index })
          break
        }
        case binaryen.GlobalSetId:
        case binaryen.DropId:
        case binaryen.RefIsNullId: {
          const cls = (
            {
              [binaryen.GlobalSetId]: 'GlobalSet',
              [binaryen.DropId]: 'Drop',
              [binaryen.RefIsNullId]: 'RefIsNull',
            } as Record<number, string>
          )[id] as string
          push(expr, cls, 'Value', region, id === binaryen.DropId ? 'blind' : 'sink')
          break
        }
        case binaryen.LoadId:
          if (api.Load.isAtomic(expr)) fail(`atomic load in function ${name}: threads are not allowed`)
          push(expr, 'Load', 'Ptr', region)
          break
        case binaryen.StoreId:
          if (api.Store.isAtomic(expr)) fail(`atomic store in function ${name}: threads are not allowed`)
          push(expr, 'Store', 'Value', region)
          push(expr, 'Store', 'Ptr', region)
          break
        case binaryen.UnaryId: {
          const code = api.Unary.getOp(expr)
          if (UNARY_RELAXED.has(code)) fail(`relaxed SIMD in function ${name} is not deterministic`)
          push(expr, 'Unary', 'Value', region, UNARY_BLIND.has(code) ? 'blind' : 'sink')
          const kind = UNARY_NAN.get(code)
          if (kind) pending.push({ slot, expr, kind, consumer })
          break
        }
        case binaryen.BinaryId: {
          const code = api.Binary.getOp(expr)
          if (BINARY_RELAXED.has(code)) fail(`relaxed SIMD in function ${name} is not deterministic`)
          const childConsumer = BINARY_BLIND.has(code) ? 'blind' : 'sink'
          push(expr, 'Binary', 'Right', region, childConsumer)
          push(expr, 'Binary', 'Left', region, childConsumer)
          const kind = BINARY_NAN.get(code)
          if (kind) pending.push({ slot, expr, kind, consumer })
          break
        }
        case binaryen.SelectId:
          push(expr, 'Select', 'Condition', region)
          push(expr, 'Select', 'IfFalse', region)
          push(expr, 'Select', 'IfTrue', region)
          break
        case binaryen.MemoryGrowId:
          wrapOperand(expr, 'MemoryGrow', 'Delta', this.growCheck, region)
          break
        case binaryen.MemoryCopyId:
          addEvent(frame, at, region, { kind: 'bulk' })
          chargeSize(expr, 'MemoryCopy', region)
          push(expr, 'MemoryCopy', 'Source', region)
          push(expr, 'MemoryCopy', 'Dest', region)
          break
        case binaryen.MemoryFillId:
          addEvent(frame, at, region, { kind: 'bulk' })
          chargeSize(expr, 'MemoryFill', region)
          push(expr, 'MemoryFill', 'Value', region)
          push(expr, 'MemoryFill', 'Dest', region)
          break
        case binaryen.MemoryInitId:
          addEvent(frame, at, region, { kind: 'bulk' })
          chargeSize(expr, 'MemoryInit', region)
          push(expr, 'MemoryInit', 'Offset', region)
          push(expr, 'MemoryInit', 'Dest', region)
          break
        case binaryen.SIMDExtractId:
          push(expr, 'SIMDExtract', 'Vec', region)
          break
        case binaryen.SIMDReplaceId:
          push(expr, 'SIMDReplace', 'Value', region)
          push(expr, 'SIMDReplace', 'Vec', region)
          break
        case binaryen.SIMDShuffleId:
          push(expr, 'SIMDShuffle', 'Right', region)
          push(expr, 'SIMDShuffle', 'Left', region)
          break
        case binaryen.SIMDTernaryId:
          if (api.SIMDTernary.getOp(expr) !== binaryen.BitselectVec128) {
            fail(`relaxed SIMD in function ${name} is not deterministic`)
          }
          push(expr, 'SIMDTernary', 'C', region)
          push(expr, 'SIMDTernary', 'B', region)
          push(expr, 'SIMDTernary', 'A', region)
          break
        case binaryen.SIMDShiftId:
          push(expr, 'SIMDShift', 'Shift', region)
          push(expr, 'SIMDShift', 'Vec', region)
          break
        case binaryen.SIMDLoadId:
          push(expr, 'SIMDLoad', 'Ptr', region)
          break
        case binaryen.SIMDLoadStoreLaneId:
          push(expr, 'SIMDLoadStoreLane', 'Vec', region)
          push(expr, 'SIMDLoadStoreLane', 'Ptr', region)
          break
        case binaryen.TableGetId:
          push(expr, 'TableGet', 'Index', region)
          break
        case binaryen.TableSetId:
          push(expr, 'TableSet', 'Value', region)
          push(expr, 'TableSet', 'Index', region)
          break
        case binaryen.TableGrowId:
          push(expr, 'TableGrow', 'Delta', region)
          push(expr, 'TableGrow', 'Value', region)
          break
        case binaryen.TupleExtractId:
          push(expr, 'TupleExtract', 'Tuple', region)
          break
        case binaryen.RefFuncId:
          this.referenced.add(api.RefFunc.getFunc(expr))
          break
        case binaryen.UnreachableId:
          addEvent(frame, at, region, { kind: 'unreachable' })
          break
        case binaryen.GlobalGetId:
        case binaryen.ConstId:
        case binaryen.MemorySizeId:
        case binaryen.NopId:
        case binaryen.DataDropId:
        case binaryen.RefNullId:
        case binaryen.TableSizeId:
          break
        default: {
          const what = ID_NAMES.get(id) ?? `expression #${id}`
          const why = /^Atomic/.test(what)
            ? 'threads are not allowed'
            : 'it is outside the determinism profile (MVP, bulk memory, SIMD, multi-value, reference types, tail calls)'
          fail(`function ${name} uses ${what}: ${why}`, { function: name, instruction: what })
        }
      }
    }

    const finish = ({ entryCosts, hoisted, prepaidEntries, sizes }: Settled) => {
      if (this.canonicalizeNaNs) {
        const deferred = new Set(candidates)
        for (let changed = true; changed; ) {
          changed = false
          for (const { target, value } of sets) {
            if (
              deferred.has(target) &&
              (value === 'unsafe' || (typeof value === 'number' && !deferred.has(value)))
            ) {
              deferred.delete(target)
              changed = true
            }
          }
        }
        for (const { slot, expr, kind, consumer, local } of pending) {
          const exposed = consumer === 'sink' || (typeof consumer === 'number' && !deferred.has(consumer))
          if (exposed && (local === undefined || deferred.has(local))) slot(canonicalize(expr, kind))
        }
      }

      // A direct call to a hoisted function pays the callee's entry cost in the caller's
      // region, as if the callee's entry code were written there (see the header comment).
      for (const call of calls) {
        if (hoisted.has(call.callee))
          (regions[call.region] as Region).cost += entryCosts.get(call.callee) ?? 0
      }
      // Fold, innermost and last first, so a chain of segments folds all the way up.
      const charged: boolean[] = []
      for (let r = regions.length - 1; r >= 0; r--) {
        const region = regions[r] as Region
        const fold =
          (region.kind === 'arm' && region.cost < MIN_REGION_COST) ||
          (region.kind === 'segment' && (!region.branched || region.cost < MIN_REGION_COST))
        if (fold) (regions[region.parent] as Region).cost += region.cost
        charged[r] = !fold
      }
      // A hoisted function's entry is paid by its callers.
      if (hoisted.has(name)) charged[root] = false
      ;(regions[root] as Region).end = pos

      // Which regions check the counter at their entry: loops (every iteration), the entry of
      // a function that is not hoisted (every call, so recursion), and regions whose calls to
      // hoisted functions add up to more than UNCHECKED_CALL_NODES nodes. Elsewhere a charge
      // only subtracts: after the counter goes below zero, at most the straight-line code up
      // to the next check runs (calls to imports and the end of the run check too) before the
      // job stops out of fuel.
      const v2Host = (r: number): number => {
        let a = r
        while (a !== root && !charged[a]) a = (regions[a] as Region).parent
        return a
      }
      const checked = regions.map((region, r) => region.kind === 'loop' || (r === root && !hoisted.has(name)))
      let size = pos
      const unchecked = new Map<number, number>()
      for (const event of events) {
        if (event.kind !== 'call' || event.callee === undefined || !hoisted.has(event.callee)) continue
        const calleeSize = sizes.get(event.callee) ?? 0
        size = Math.min(size + calleeSize, 2 ** 31)
        const host = v2Host(event.region)
        const sum = (unchecked.get(host) ?? 0) + calleeSize
        unchecked.set(host, sum)
        if (sum > UNCHECKED_CALL_NODES) checked[host] = true
      }

      // Where the charges go (charge-plan.ts): likely regions prepaid with their host,
      // refunded on the paths that skip them; every check keeps its version 2 meaning.
      const plan = planCharges({
        regions: regions.map((region, r) => ({
          kind: region.kind,
          parent: region.parent,
          start: region.start,
          end: region.end,
          charged: charged[r] === true,
          checked: checked[r] === true,
          cost: region.cost,
          likely: this.prepay && !duplicateLabel && region.likely,
          ...(region.ifIndex === undefined ? {} : { ifIndex: region.ifIndex }),
          ...(region.loopHead ? { loopHead: true } : {}),
          ...(region.exitNode === undefined || !eventOf.has(region.exitNode)
            ? {}
            : { exitEvent: eventOf.get(region.exitNode) as number }),
        })),
        ifs: ifs.map(({ thenArm, elseArm }) => (elseArm === undefined ? { thenArm } : { thenArm, elseArm })),
        events,
        labels,
        rootHoisted: hoisted.has(name),
        prepaidEntryOf: (callee) => prepaidEntries.get(callee) ?? 0,
      })
      // Code replaced through slots first: region charges are prepended to whatever is there.
      const armRefunds = new Map<number, number>()
      for (const { site, amount, threshold } of plan.refunds) {
        if (site.kind === 'arm') {
          armRefunds.set(site.region, amount)
        } else if (site.kind === 'else') {
          const node = (ifs[site.ifIndex] as { node: ExpressionRef }).node
          if (amount === 0) api.If.setIfFalse(node, this.checkCounter(threshold ?? 0))
          else {
            const refund = this.adjust(amount)
            api.If.setIfFalse(
              node,
              threshold === undefined ? refund : m.block(null, [refund, this.checkCounter(threshold)]),
            )
          }
        } else {
          const event = events[site.event] as (typeof events)[number]
          event.slot(
            site.kind === 'before'
              ? prepend([this.adjust(amount)], event.node)
              : m.if(
                  api.Break.getCondition(event.node),
                  m.block(null, [this.adjust(amount), m.br(api.Break.getName(event.node))]),
                ),
          )
        }
      }
      /** Runs `code` after a call's operands, right before the call. */
      const beforeCall = ({ node, slot }: { node: ExpressionRef; slot: Slot }, code: ExpressionRef) => {
        const count = api.Call.getNumOperands(node)
        if (count === 0) {
          slot(prepend([code], node))
          return
        }
        const last = api.Call.getOperandAt(node, count - 1)
        const type = binaryen.getExpressionType(last)
        if (type === binaryen.unreachable) return // the call is never reached
        const t = addVar(func, type)
        api.Call.setOperandAt(
          node,
          count - 1,
          m.block(null, [m.local.set(t, last), code, m.local.get(t, type)], type),
        )
      }
      for (const [e, amount] of plan.preCharges) {
        beforeCall(events[e] as (typeof events)[number], this.adjust(-amount))
      }
      // Calls to imports see a counter that is not below zero (a check right before the call,
      // after its operands): the clock reads it, and proc_exit ends the run.
      for (const event of events) {
        if (event.kind === 'call' && event.callee !== undefined && this.imports.has(event.callee)) {
          beforeCall(event, this.checkCounter(0))
        }
      }
      for (const [e, threshold] of plan.bulkChecks) {
        api.Block.setChildAt(bulkSizes.get(e) as ExpressionRef, 2, this.checkCounter(threshold))
      }
      for (const [r, { amount, threshold }] of plan.charges) {
        const charge = this.adjust(-amount)
        ;(regions[r] as Region).apply(
          threshold === undefined ? [charge] : [charge, this.checkCounter(threshold)],
        )
      }
      for (const [r, threshold] of plan.checks) {
        const refund = armRefunds.get(r)
        armRefunds.delete(r)
        ;(regions[r] as Region).apply(
          refund === undefined
            ? [this.checkCounter(threshold)]
            : [this.adjust(refund), this.checkCounter(threshold)],
        )
      }
      for (const [r, amount] of armRefunds) (regions[r] as Region).apply([this.adjust(amount)])
      return { entryCost: (regions[root] as Region).cost, prepaidEntry: plan.prepaidEntry, size }
    }
    return { name, calls, finish }
  }
}

/** One function walked, its charges not yet emitted (Instrumenter.run settles callees first). */
interface FunctionPlan {
  name: string
  calls: { region: number; callee: string }[]
  /**
   * Folds and emits the charges; returns the entry region's cost and what the entry prepays
   * (what callers pay on top of their own code when the function is hoisted).
   */
  finish: (settled: Settled) => { entryCost: number; prepaidEntry: number; size: number }
}

/** What is known about the hoisted callees once they are settled. */
interface Settled {
  /** Functions charged at their call sites. */
  hoisted: ReadonlySet<string>
  /** Their entry cost (version 2) and what their entry prepays (charge-plan.ts). */
  entryCosts: ReadonlyMap<string, number>
  prepaidEntries: ReadonlyMap<string, number>
  /** IR nodes in them and in the hoisted functions they call, each call counted (capped). */
  sizes: ReadonlyMap<string, number>
}

/**
 * Rewrites the memory section so the maximum is min(declared, maxPages). Works on bytes
 * (binaryen.js cannot change a memory's maximum without rebuilding its data segments).
 */
function patchMemoryMax(wasm: Uint8Array, maxPages: number): Uint8Array {
  const memory = readMemorySection(wasm)
  const content = [1, 0x01, ...u32Leb(memory.initial), ...u32Leb(Math.min(memory.declaredMax, maxPages))]
  const header = [5, ...u32Leb(content.length)]
  const out = new Uint8Array(memory.start + header.length + content.length + wasm.length - memory.end)
  out.set(wasm.subarray(0, memory.start))
  out.set([...header, ...content], memory.start)
  out.set(wasm.subarray(memory.end), memory.start + header.length + content.length)
  return out
}
