import { closeSync, mkdtempSync, openSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import {
  AbortedError,
  InvalidJobError,
  InvalidModuleError,
  MemoryLimitError,
  OutOfFuelError,
  OutputTooLargeError,
  SandboxError,
  TimeoutError,
  TrapError,
} from './errors.ts'
import { closeDescriptorsUnder } from './fd-reaper.ts'
import { createInstrumentCache } from './instrument-cache.ts'
import { memoryMbToPages } from './memory-pages.ts'
import { precheckModule } from './module-check.ts'
import { detectResources } from './resources.ts'
import type { SandboxMessage, SandboxRequest } from './sandbox-worker.ts'

/** A WASI job as the executor runs it: everything already fetched and checked. */
export interface WasmJob {
  /** The module as the requester published it (not instrumented). */
  module: Uint8Array
  /** Cache key for the instrumented module, e.g. its CID. Without it nothing is cached. */
  moduleKey?: string
  /** Program arguments; argv[0] is always "main.wasm". */
  args: string[]
  env: Record<string, string>
  /** Files under /input; `path` is a plain file name. */
  inputs: { path: string; bytes: Uint8Array }[]
  limits: { fuel: bigint; memoryMb: number; timeoutMs: number; outputBytes: number }
  /** Seeds random_get; the same seed gives the same random bytes. Default "". */
  seed?: string
}

export interface RunResult {
  stdout: Uint8Array
  /** The first 4 KiB of stderr. */
  stderr: Uint8Array
  /** Non-zero is not an error: it is the program's answer. */
  exitCode: number
  fuelUsed: bigint
  /** Wall-clock time of `_start` (not deterministic; never part of a result hash). */
  durationMs: number
}

export interface RunOptions {
  signal?: AbortSignal
}

/** pino-style: structured fields first, then the message. */
export interface ExecutorLogger {
  debug(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
}

export interface ExecutorInit {
  /**
   * Jobs run in parallel, one per worker thread: the cores the provider advertises.
   * Default: the cores this process may use (`detectResources().cores`).
   */
  workers?: number
  logger?: ExecutorLogger
  /** Compiled instrumented modules kept (LRU). Default 32. */
  cacheEntries?: number
  /** V8 heap cap per worker (MiB): a second line of defence; wasm memory is capped by the module rewrite. Default 256. */
  workerHeapMb?: number
  /** Limit for starting a worker and instrumenting + compiling a module. Default 60 s. */
  prepareTimeoutMs?: number
}

export interface Executor {
  /**
   * Runs a job. Resolves with the result (whatever the exit code) or rejects with
   * OutOfFuelError, MemoryLimitError, TimeoutError, OutputTooLargeError, TrapError,
   * InvalidModuleError, InvalidJobError, AbortedError or SandboxError.
   */
  run(job: WasmJob, opts?: RunOptions): Promise<RunResult>
  /** Stops every worker; queued and running jobs reject with AbortedError. */
  close(): Promise<void>
  /** The pool size: at most this many jobs run at once. */
  readonly workers: number
  /** Jobs waiting for a worker. */
  readonly queued: number
  /** Jobs running now. */
  readonly running: number
}

const INPUT_NAME = /^[A-Za-z0-9._-]+$/
const MAX_FUEL = 2n ** 63n - 1n

interface Task {
  id: number
  job: WasmJob
  module: Uint8Array | WebAssembly.Module
  cacheKey: string | undefined
  resolve: (result: RunResult) => void
  reject: (err: Error) => void
  signal: AbortSignal | undefined
  onAbort: () => void
  timer?: NodeJS.Timeout
  slot?: Slot
  /** The job's temp dir (inputs), removed when the task finishes however it ends. */
  jobDir?: string
  /** Set when this task instruments the module others wait for. */
  preparing?: Deferred<WebAssembly.Module>
}

interface Slot {
  worker: Worker
  task: Task | undefined
  dead: boolean
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (err: Error) => void
}

/**
 * A pool of sandbox worker threads. Workers are reused between jobs (a wasm module cannot
 * reach the worker's JS state; each job gets a fresh instance, WASI context and temp dir);
 * a worker is replaced only after a timeout, an abort, a crash or a binaryen failure, since
 * terminating it is the only way to stop running wasm. Starting a worker costs ~30 ms, and
 * ~0.3 s more the first time it has to instrument a module (binaryen loads lazily).
 * Instrumented, compiled modules are cached by `moduleKey` and the memory cap, and shared
 * with every worker.
 */
export function createExecutor(init: ExecutorInit = {}): Executor {
  const workers = init.workers ?? detectResources().cores
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a positive integer, got ${workers}`)
  }
  const log = init.logger
  const heapMb = init.workerHeapMb ?? 256
  const prepareTimeoutMs = init.prepareTimeoutMs ?? 60_000
  const cache = createInstrumentCache<WebAssembly.Module>({ maxEntries: init.cacheEntries ?? 32 })
  const inflight = new Map<string, Deferred<WebAssembly.Module>>()
  const slots: Slot[] = []
  const queue: Task[] = []
  let nextId = 1
  let closed = false
  // The sandbox's stdin and stdout/stderr host descriptors (/dev/null; the module's writes
  // are intercepted), shared by every job: the sandbox refuses to close, renumber or
  // re-flag descriptors 0-2, so no job can change what another sees.
  let devNull: { read: number; write: number } | undefined

  function spawn(): Slot {
    devNull ??= { read: openSync('/dev/null', 'r'), write: openSync('/dev/null', 'w') }
    const worker = new Worker(new URL('./sandbox-worker.ts', import.meta.url), {
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
    })
    const slot: Slot = { worker, task: undefined, dead: false }
    // The worker's own output (node's WASI warning, binaryen diagnostics) never reaches ours.
    for (const stream of [worker.stdout, worker.stderr]) {
      stream.on('data', (chunk: Buffer) =>
        log?.debug({ output: chunk.toString('utf8').slice(0, 500) }, 'sandbox worker output'),
      )
    }
    worker.on('message', (message: SandboxMessage) => onMessage(slot, message))
    worker.on('error', (err: Error & { code?: string }) => {
      const task = slot.task
      log?.warn({ err: err.message, code: err.code, job: task?.id }, 'sandbox worker crashed')
      retire(slot)
      if (!task) return
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        finish(task, new MemoryLimitError('the sandbox ran out of JavaScript heap', task.job.limits.memoryMb))
      } else {
        finish(task, new SandboxError(`the sandbox worker crashed: ${err.message}`, { cause: err }))
      }
    })
    worker.on('exit', (code) => {
      const task = slot.task
      retire(slot)
      if (task) finish(task, new SandboxError(`the sandbox worker exited (code ${code})`))
    })
    worker.unref()
    slots.push(slot)
    return slot
  }

  /** Takes a worker out of the pool for good and stops it. */
  function retire(slot: Slot): void {
    if (slot.dead) return
    slot.dead = true
    const jobDir = slot.task?.jobDir
    slot.task = undefined
    slots.splice(slots.indexOf(slot), 1)
    void stop(slot.worker, jobDir)
    dispatch()
  }

  /** Terminates a worker, then closes the job's descriptors it could not close itself. */
  async function stop(worker: Worker, jobDir: string | undefined): Promise<void> {
    await worker.terminate().catch(() => {})
    if (jobDir) closeDescriptorsUnder(jobDir)
  }

  function dispatch(): void {
    while (!closed && queue.length > 0) {
      let slot = slots.find((s) => !s.task && !s.dead)
      if (!slot) {
        if (slots.length >= workers) return
        slot = spawn()
      }
      start(slot, queue.shift() as Task)
    }
  }

  function start(slot: Slot, task: Task): void {
    slot.task = task
    task.slot = slot
    slot.worker.ref()
    const { job } = task
    task.jobDir = mkdtempSync(join(tmpdir(), 'bazaar-job-'))
    const request: SandboxRequest = {
      id: task.id,
      jobDir: task.jobDir,
      module: task.module,
      memoryMaxPages: memoryMbToPages(job.limits.memoryMb),
      args: job.args,
      env: job.env,
      inputs: job.inputs,
      fuel: job.limits.fuel,
      outputBytes: job.limits.outputBytes,
      seed: job.seed ?? '',
      stdio: devNull as { read: number; write: number },
    }
    task.timer = setTimeout(() => {
      retire(slot)
      finish(task, new TimeoutError(prepareTimeoutMs, 'prepare'))
    }, prepareTimeoutMs)
    slot.worker.postMessage(request)
  }

  function onMessage(slot: Slot, message: SandboxMessage): void {
    const task = slot.task
    if (!task || task.id !== message.id) return
    switch (message.type) {
      case 'prepared':
        if (task.cacheKey) cache.set(task.cacheKey, message.module)
        task.preparing?.resolve(message.module)
        task.preparing = undefined
        return
      case 'started':
        clearTimeout(task.timer)
        task.timer = setTimeout(() => {
          log?.debug(
            { id: task.id, timeoutMs: task.job.limits.timeoutMs },
            'job timed out; replacing its worker',
          )
          retire(slot)
          finish(task, new TimeoutError(task.job.limits.timeoutMs, 'run'))
        }, task.job.limits.timeoutMs)
        return
      case 'done':
        release(slot)
        finish(task, {
          stdout: message.stdout,
          stderr: message.stderr,
          exitCode: message.exitCode,
          fuelUsed: message.fuelUsed,
          durationMs: message.durationMs,
        })
        return
      case 'failed': {
        if (message.recycle) retire(slot)
        else release(slot)
        finish(task, toError(task.job, message))
        return
      }
    }
  }

  function release(slot: Slot): void {
    slot.task = undefined
    slot.worker.unref()
    dispatch()
  }

  function finish(task: Task, outcome: RunResult | Error): void {
    clearTimeout(task.timer)
    if (task.jobDir) {
      const dir = task.jobDir
      task.jobDir = undefined
      rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch((err: Error) =>
        log?.warn({ dir, err: err.message }, 'could not remove a job directory'),
      )
    }
    task.signal?.removeEventListener('abort', task.onAbort)
    if (task.preparing) {
      task.preparing.reject(outcome instanceof Error ? outcome : new Error('finished without preparing'))
      task.preparing = undefined
    }
    if (outcome instanceof Error) task.reject(outcome)
    else task.resolve(outcome)
  }

  async function resolveModule(job: WasmJob, cacheKey: string | undefined): Promise<Task['module']> {
    if (!cacheKey) return job.module
    const cached = cache.get(cacheKey)
    if (cached) return cached
    const pending = inflight.get(cacheKey)
    if (pending) {
      try {
        return await pending.promise
      } catch {
        return job.module // the preparer failed (maybe for its own reasons): try ourselves
      }
    }
    return job.module
  }

  async function run(job: WasmJob, opts: RunOptions = {}): Promise<RunResult> {
    validate(job)
    const { signal } = opts
    if (closed) throw new AbortedError('the executor is closed')
    if (signal?.aborted)
      throw new AbortedError('the job was aborted before it started', { cause: signal.reason })
    const cacheKey = job.moduleKey === undefined ? undefined : `${job.moduleKey}@${job.limits.memoryMb}`
    const module = await resolveModule(job, cacheKey)
    // A module not yet instrumented is checked here first (V8 validates it off the event
    // loop): most broken or foreign modules are refused without occupying a worker.
    if (!(module instanceof WebAssembly.Module)) {
      await precheckModule(module, memoryMbToPages(job.limits.memoryMb))
    }
    if (closed) throw new AbortedError('the executor is closed')
    if (signal?.aborted)
      throw new AbortedError('the job was aborted before it started', { cause: signal.reason })

    return new Promise<RunResult>((resolve, reject) => {
      const task: Task = {
        id: nextId++,
        job,
        module,
        cacheKey,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const queuedAt = queue.indexOf(task)
          if (queuedAt >= 0) queue.splice(queuedAt, 1)
          else if (task.slot && task.slot.task === task) retire(task.slot)
          finish(task, new AbortedError('the job was aborted', { cause: signal?.reason }))
        },
      }
      if (cacheKey && !(module instanceof WebAssembly.Module) && !inflight.has(cacheKey)) {
        const deferred = defer<WebAssembly.Module>()
        deferred.promise.catch(() => {}) // waiters handle it; nobody else must see it unhandled
        deferred.promise.finally(() => inflight.delete(cacheKey)).catch(() => {})
        inflight.set(cacheKey, deferred)
        task.preparing = deferred
      }
      signal?.addEventListener('abort', task.onAbort, { once: true })
      queue.push(task)
      log?.debug({ id: task.id, queued: queue.length, moduleKey: job.moduleKey }, 'job queued')
      dispatch()
    })
  }

  async function close(): Promise<void> {
    if (closed) return
    closed = true
    for (const task of queue.splice(0)) finish(task, new AbortedError('the executor is closed'))
    const stopping = slots.splice(0).map((slot) => {
      slot.dead = true
      const task = slot.task
      slot.task = undefined
      const jobDir = task?.jobDir
      if (task) finish(task, new AbortedError('the executor is closed'))
      return stop(slot.worker, jobDir)
    })
    await Promise.allSettled(stopping)
    if (devNull) {
      closeSync(devNull.read)
      closeSync(devNull.write)
      devNull = undefined
    }
  }

  return {
    run,
    close,
    workers,
    get queued() {
      return queue.length
    },
    get running() {
      return slots.filter((slot) => slot.task).length
    },
  }
}

function toError(job: WasmJob, message: Extract<SandboxMessage, { type: 'failed' }>): Error {
  const details = {
    ...message.details,
    ...(message.stderr.length > 0 ? { stderr: decodeTail(message.stderr) } : {}),
  }
  switch (message.kind) {
    case 'fuel':
      return new OutOfFuelError(job.limits.fuel, { details })
    case 'memory':
      return new MemoryLimitError(message.message, job.limits.memoryMb, message.fuelUsed, { details })
    case 'output':
      return new OutputTooLargeError(job.limits.outputBytes, message.fuelUsed, { details })
    case 'trap':
      return new TrapError(message.message, message.fuelUsed, { details })
    case 'invalid':
      return new InvalidModuleError(message.message, { details })
    case 'internal':
      return new SandboxError(message.message, { details })
  }
}

function decodeTail(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).slice(-1000)
}

function validate(job: WasmJob): void {
  const problems: string[] = []
  const { limits } = job
  if (!(job.module instanceof Uint8Array)) problems.push('module must be a Uint8Array')
  if (typeof limits?.fuel !== 'bigint' || limits.fuel < 1n || limits.fuel > MAX_FUEL) {
    problems.push('limits.fuel must be a bigint in 1..2^63-1')
  }
  if (!Number.isInteger(limits?.memoryMb) || limits.memoryMb < 1 || limits.memoryMb > 4096) {
    problems.push('limits.memoryMb must be an integer in 1..4096')
  }
  if (!Number.isFinite(limits?.timeoutMs) || limits.timeoutMs <= 0)
    problems.push('limits.timeoutMs must be positive')
  if (!Number.isInteger(limits?.outputBytes) || limits.outputBytes < 0) {
    problems.push('limits.outputBytes must be a non-negative integer')
  }
  if (!Array.isArray(job.args) || job.args.some((arg) => typeof arg !== 'string')) {
    problems.push('args must be strings')
  }
  for (const [name, value] of Object.entries(job.env ?? {})) {
    if (name.includes('=') || name.includes('\0') || typeof value !== 'string' || value.includes('\0')) {
      problems.push(`env ${JSON.stringify(name)} is not a valid variable`)
    }
  }
  const names = new Set<string>()
  for (const input of job.inputs ?? []) {
    if (!INPUT_NAME.test(input.path) || input.path === '.' || input.path === '..') {
      problems.push(`input ${JSON.stringify(input.path)} must be a plain file name (letters, digits, . _ -)`)
    } else if (names.has(input.path)) {
      problems.push(`input ${JSON.stringify(input.path)} appears twice`)
    }
    names.add(input.path)
    if (!(input.bytes instanceof Uint8Array)) problems.push(`input ${JSON.stringify(input.path)} needs bytes`)
  }
  if (problems.length > 0) throw new InvalidJobError(problems)
}

function defer<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
