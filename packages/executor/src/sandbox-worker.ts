import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WASI } from 'node:wasi'
import { isMainThread, parentPort } from 'node:worker_threads'
import {
  FUEL_EXPORT,
  FUEL_LIMIT_IMPORT,
  MEMORY_EXCEEDED_EXPORT,
  START_EXPORT,
  WASI_MODULE,
} from './metering.ts'
import { ARGV0, RANDOM_DOMAIN, STDERR_KEEP_BYTES, VIRTUAL_EPOCH_NS } from './sandbox-profile.ts'

/**
 * Runs one job in the WASI sandbox (the view described in sandbox-profile.ts) inside a
 * worker thread started by the executor. Never imported at runtime by the main thread:
 * node:wasi and binaryen stay in the workers.
 */

export interface SandboxRequest {
  id: number
  /** An empty directory for this job, made and removed by the executor (even if the worker is killed). */
  jobDir: string
  /** Raw module bytes (instrumented here) or an already instrumented, compiled module. */
  module: Uint8Array | WebAssembly.Module
  memoryMaxPages: number
  args: string[]
  env: Record<string, string>
  inputs: { path: string; bytes: Uint8Array }[]
  fuel: bigint
  outputBytes: number
  seed: string
  /** Host descriptors for the module's stdin and stdout/stderr (/dev/null), owned by the executor. */
  stdio: { read: number; write: number }
}

export type SandboxFailureKind = 'fuel' | 'memory' | 'output' | 'trap' | 'invalid' | 'internal'

export type SandboxMessage =
  /** Sent once the raw bytes are instrumented and compiled, so the executor can cache the result. */
  | { type: 'prepared'; id: number; module: WebAssembly.Module }
  /** Sent right before `_start`: the wall-clock timeout counts from here. */
  | { type: 'started'; id: number }
  | {
      type: 'done'
      id: number
      exitCode: number
      stdout: Uint8Array
      stderr: Uint8Array
      fuelUsed: bigint
      durationMs: number
    }
  | {
      type: 'failed'
      id: number
      kind: SandboxFailureKind
      message: string
      details: Record<string, unknown>
      /** Deterministic fuel used up to the failure, when known. */
      fuelUsed?: bigint
      stderr: Uint8Array
      /** The worker's state may be damaged (e.g. binaryen aborted): replace it. */
      recycle: boolean
    }

type RunOutcome = Exclude<SandboxMessage, { type: 'prepared' } | { type: 'started' }>

const ERRNO_SUCCESS = 0
const ERRNO_BADF = 8
const ERRNO_FAULT = 21
const ERRNO_INVAL = 28
const ERRNO_NAMETOOLONG = 37
const ERRNO_NOSYS = 52
const ERRNO_NOTSUP = 58
const ERRNO_ROFS = 69
const OFLAGS_CREAT = 1
const OFLAGS_EXCL = 4
const OFLAGS_TRUNC = 8
const FILETYPE_DIRECTORY = 3
/** The WASI descriptor of the first preopen (/input). */
const PREOPEN_FD = 3
const FILETYPE_REGULAR_FILE = 4
/** Every right that could change the file system (WASI preview1 rights bits). */
const WRITE_RIGHTS =
  (1n << 0n) | // fd_datasync
  (1n << 4n) | // fd_sync
  (1n << 6n) | // fd_write
  (1n << 8n) | // fd_allocate
  (1n << 9n) | // path_create_directory
  (1n << 10n) | // path_create_file
  (1n << 11n) | // path_link_source
  (1n << 12n) | // path_link_target
  (1n << 16n) | // path_rename_source
  (1n << 17n) | // path_rename_target
  (1n << 19n) | // path_filestat_set_size
  (1n << 20n) | // path_filestat_set_times
  (1n << 22n) | // fd_filestat_set_size
  (1n << 23n) | // fd_filestat_set_times
  (1n << 24n) | // path_symlink
  (1n << 25n) | // path_remove_directory
  (1n << 26n) // path_unlink_file

const INPUT_NAME = /^[A-Za-z0-9._-]+$/

/** Thrown from fd_write to unwind the module when stdout passes its cap. */
class OutputLimitSignal extends Error {}

class DeterministicRandom {
  readonly seed: Buffer
  counter = 0n
  pending = Buffer.alloc(0)
  constructor(seed: string) {
    this.seed = Buffer.from(`${RANDOM_DOMAIN}\0${seed}`, 'utf8')
  }
  fill(target: Uint8Array): void {
    let offset = 0
    while (offset < target.length) {
      if (this.pending.length === 0) {
        const counter = Buffer.alloc(8)
        counter.writeBigUInt64BE(this.counter++)
        this.pending = createHash('sha256').update(this.seed).update(counter).digest()
      }
      const n = Math.min(this.pending.length, target.length - offset)
      target.set(this.pending.subarray(0, n), offset)
      this.pending = this.pending.subarray(n)
      offset += n
    }
  }
}

let instrument: typeof import('./meter.ts').instrumentModule | undefined

/** Runs one job to completion; never throws (failures are messages). */
export async function runSandboxJob(
  request: SandboxRequest,
  post: (message: SandboxMessage, transfer?: ArrayBuffer[]) => void,
): Promise<void> {
  const stderrChunks: Uint8Array[] = []
  let stderrKept = 0
  const stderrBytes = () => concat(stderrChunks, stderrKept)
  const failed = (
    kind: SandboxFailureKind,
    message: string,
    extra: { details?: Record<string, unknown>; fuelUsed?: bigint; recycle?: boolean } = {},
  ): RunOutcome => ({
    type: 'failed',
    id: request.id,
    kind,
    message,
    details: extra.details ?? {},
    ...(extra.fuelUsed === undefined ? {} : { fuelUsed: extra.fuelUsed }),
    stderr: stderrBytes(),
    recycle: extra.recycle ?? false,
  })

  // 1. The module: instrument and compile raw bytes (binaryen loads on first use).
  let compiled: WebAssembly.Module
  if (request.module instanceof WebAssembly.Module) {
    compiled = request.module
  } else {
    try {
      instrument ??= (await import('./meter.ts')).instrumentModule
      const metered = instrument(request.module, { memoryMaxPages: request.memoryMaxPages })
      compiled = new WebAssembly.Module(metered as Uint8Array<ArrayBuffer>)
    } catch (err) {
      const name = err instanceof Error ? err.name : ''
      if (name === 'InvalidModuleError' || name === 'MemoryLimitError') {
        const error = err as Error & { details?: Record<string, unknown> }
        post(
          failed(name === 'InvalidModuleError' ? 'invalid' : 'memory', error.message, {
            details: error.details ?? {},
          }),
        )
      } else {
        // binaryen aborts leave it unusable in this thread: ask for a fresh worker.
        post(failed('internal', `instrumenting the module failed: ${describe(err)}`, { recycle: true }))
      }
      return
    }
    post({ type: 'prepared', id: request.id, module: compiled })
  }

  // 2. The sandbox's files.
  // node:wasi never closes the host descriptors behind its own table (the /input preopen,
  // files the module opened): closed by hand after the run, or each job would leak them.
  let closeGuestFds = () => {}
  try {
    const inputDir = join(request.jobDir, 'input')
    mkdirInput(inputDir, request.inputs)
    const inputNames = request.inputs.map((input) => Buffer.from(input.path, 'utf8')).sort(Buffer.compare)

    const wasi = new WASI({
      version: 'preview1',
      args: [ARGV0, ...request.args],
      env: request.env,
      preopens: { '/input': inputDir },
      stdin: request.stdio.read,
      stdout: request.stdio.write,
      stderr: request.stdio.write,
      returnOnExit: true,
    })

    // 3. The import object: node:wasi with the nondeterministic and writing calls replaced.
    let instance: WebAssembly.Instance | undefined
    const memory = () =>
      new DataView(((instance as WebAssembly.Instance).exports.memory as WebAssembly.Memory).buffer)
    const fuelLeft = () =>
      (instance?.exports[FUEL_EXPORT] as WebAssembly.Global | undefined)?.value as bigint | undefined
    const fuelUsedNow = () => {
      const left = fuelLeft()
      return left === undefined ? 0n : left < 0n ? request.fuel : request.fuel - left
    }
    const stdoutChunks: Uint8Array[] = []
    let stdoutLength = 0
    let clockReads = 0n
    const random = new DeterministicRandom(request.seed)
    const real = wasi.wasiImport as Record<string, (...args: never[]) => number>
    const call = (name: string, ...args: unknown[]) => (real[name] as (...a: unknown[]) => number)(...args)
    const denied = () => ERRNO_ROFS
    /**
     * node:wasi (uvwasi 0.0.23) reads a path past its length, up to a NUL byte: a path
     * with no NUL after it before the end of memory makes it read off the end and crash the
     * process (SIGSEGV). So the byte after the path is set to 0 for the call and restored
     * after, unless the call wrote its result over it. A path ending exactly at the end of
     * memory is refused (ENAMETOOLONG).
     */
    const terminated = (ptr: number, len: number, outputs: [number, number][], fn: () => number): number => {
      const view = memory()
      const end = (ptr >>> 0) + (len >>> 0)
      if (end > view.byteLength) return ERRNO_FAULT
      if (end === view.byteLength) return ERRNO_NAMETOOLONG
      const bytes = new Uint8Array(view.buffer)
      const saved = bytes[end] as number
      bytes[end] = 0
      const errno = fn()
      const overwritten =
        errno === ERRNO_SUCCESS && outputs.some(([at, size]) => end >= at >>> 0 && end < (at >>> 0) + size)
      if (!overwritten) bytes[end] = saved
      return errno
    }
    const guestFds = new Set<number>([PREOPEN_FD])
    let wasiStarted = false
    closeGuestFds = () => {
      // node:wasi refuses every call before start(): a job that failed to instantiate
      // still holds the preopen, so start it on an empty command first.
      if (!wasiStarted) {
        wasiStarted = true
        wasi.start({ exports: { memory: new WebAssembly.Memory({ initial: 0 }), _start: () => {} } })
      }
      for (const fd of guestFds) call('fd_close', fd)
      guestFds.clear()
    }

    const overrides: Record<string, (...args: never[]) => number> = {
      clock_time_get(id: number, _precision: bigint, timePtr: number): number {
        if (id >>> 0 > 3) return ERRNO_INVAL
        const view = memory()
        if (!inBounds(view, timePtr, 8)) return ERRNO_FAULT
        clockReads++
        const t = fuelUsedNow() + clockReads
        view.setBigUint64(timePtr >>> 0, id === 0 ? VIRTUAL_EPOCH_NS + t : t, true)
        return ERRNO_SUCCESS
      },
      clock_res_get(id: number, resPtr: number): number {
        if (id >>> 0 > 3) return ERRNO_INVAL
        const view = memory()
        if (!inBounds(view, resPtr, 8)) return ERRNO_FAULT
        view.setBigUint64(resPtr >>> 0, 1n, true)
        return ERRNO_SUCCESS
      },
      random_get(bufPtr: number, bufLen: number): number {
        const view = memory()
        if (!inBounds(view, bufPtr, bufLen >>> 0)) return ERRNO_FAULT
        random.fill(new Uint8Array(view.buffer, bufPtr >>> 0, bufLen >>> 0))
        return ERRNO_SUCCESS
      },
      fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
        if (fd !== 1 && fd !== 2) return call('fd_write', fd, iovs, iovsLen, nwrittenPtr)
        const view = memory()
        const base = iovs >>> 0
        const count = iovsLen >>> 0
        if (!inBounds(view, base, count * 8) || !inBounds(view, nwrittenPtr, 4)) return ERRNO_FAULT
        let written = 0
        for (let i = 0; i < count; i++) {
          const ptr = view.getUint32(base + i * 8, true)
          const len = view.getUint32(base + i * 8 + 4, true)
          if (!inBounds(view, ptr, len)) return ERRNO_FAULT
          if (fd === 1) {
            if (stdoutLength + len > request.outputBytes) throw new OutputLimitSignal()
            stdoutChunks.push(new Uint8Array(view.buffer, ptr, len).slice())
            stdoutLength += len
          } else if (stderrKept < STDERR_KEEP_BYTES) {
            const keep = Math.min(len, STDERR_KEEP_BYTES - stderrKept)
            stderrChunks.push(new Uint8Array(view.buffer, ptr, keep).slice())
            stderrKept += keep
          }
          written += len
        }
        view.setUint32(nwrittenPtr >>> 0, written >>> 0, true)
        return ERRNO_SUCCESS
      },
      path_open(
        dirfd: number,
        dirflags: number,
        path: number,
        pathLen: number,
        oflags: number,
        rightsBase: bigint,
        rightsInheriting: bigint,
        fdflags: number,
        fdPtr: number,
      ): number {
        if (oflags & (OFLAGS_CREAT | OFLAGS_EXCL | OFLAGS_TRUNC)) return ERRNO_ROFS
        const base = rightsBase & ~WRITE_RIGHTS
        const inheriting = rightsInheriting & ~WRITE_RIGHTS
        const errno = terminated(path, pathLen, [[fdPtr, 4]], () =>
          call('path_open', dirfd, dirflags, path, pathLen, oflags, base, inheriting, fdflags, fdPtr),
        )
        if (errno === ERRNO_SUCCESS) guestFds.add(memory().getUint32(fdPtr >>> 0, true))
        return errno
      },
      fd_filestat_get(fd: number, bufPtr: number): number {
        const errno = call('fd_filestat_get', fd, bufPtr)
        if (errno === ERRNO_SUCCESS) scrubFilestat(memory(), bufPtr)
        return errno
      },
      path_filestat_get(fd: number, flags: number, path: number, pathLen: number, bufPtr: number): number {
        const errno = terminated(path, pathLen, [[bufPtr, 64]], () =>
          call('path_filestat_get', fd, flags, path, pathLen, bufPtr),
        )
        if (errno === ERRNO_SUCCESS) scrubFilestat(memory(), bufPtr)
        return errno
      },
      path_readlink(fd: number, path: number, pathLen: number, buf: number, bufLen: number, usedPtr: number) {
        return terminated(
          path,
          pathLen,
          [
            [buf, bufLen >>> 0],
            [usedPtr, 4],
          ],
          () => call('path_readlink', fd, path, pathLen, buf, bufLen, usedPtr),
        )
      },
      fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufUsedPtr: number): number {
        // Let node:wasi check the descriptor (a readable directory), then list /input ourselves.
        const errno = call('fd_readdir', fd, buf, 0, cookie, bufUsedPtr)
        if (errno !== ERRNO_SUCCESS) return errno
        const view = memory()
        if (!inBounds(view, buf, bufLen >>> 0) || !inBounds(view, bufUsedPtr, 4)) return ERRNO_FAULT
        const used = writeDirents(new Uint8Array(view.buffer, buf >>> 0, bufLen >>> 0), inputNames, cookie)
        view.setUint32(bufUsedPtr >>> 0, used, true)
        return ERRNO_SUCCESS
      },
      fd_pwrite: (fd: number, ...rest: never[]) =>
        fd >>> 0 <= 2 ? ERRNO_BADF : (real.fd_pwrite as (...a: unknown[]) => number)(fd, ...rest),
      // Descriptors 0-2 are host descriptors shared by every job: closing, renumbering over
      // or re-flagging them would reach other jobs (or whoever reuses the number): refused.
      fd_close(fd: number): number {
        if (fd >>> 0 <= 2) return ERRNO_NOTSUP
        const errno = call('fd_close', fd)
        if (errno === ERRNO_SUCCESS) guestFds.delete(fd)
        return errno
      },
      fd_fdstat_set_flags: (fd: number, flags: number) =>
        fd >>> 0 <= 2 ? ERRNO_NOTSUP : call('fd_fdstat_set_flags', fd, flags),
      fd_renumber(from: number, to: number): number {
        if (from >>> 0 <= 2 || to >>> 0 <= 2) return ERRNO_NOTSUP
        const errno = call('fd_renumber', from, to)
        if (errno === ERRNO_SUCCESS) {
          guestFds.delete(from)
          guestFds.add(to)
        }
        return errno
      },
      path_create_directory: denied,
      path_link: denied,
      path_remove_directory: denied,
      path_rename: denied,
      path_symlink: denied,
      path_unlink_file: denied,
      path_filestat_set_times: denied,
      fd_filestat_set_size: denied,
      fd_filestat_set_times: denied,
      fd_allocate: denied,
      poll_oneoff: () => ERRNO_NOTSUP,
      // There are no sockets in the sandbox; and node:wasi's sock_accept on a descriptor
      // that is not a socket crashes the whole process (SIGSEGV; Node 24.21, uvwasi 0.0.23).
      sock_accept: () => ERRNO_NOTSUP,
      sock_recv: () => ERRNO_NOTSUP,
      sock_send: () => ERRNO_NOTSUP,
      sock_shutdown: () => ERRNO_NOTSUP,
      proc_raise: () => ERRNO_NOSYS,
      sched_yield: () => ERRNO_SUCCESS,
    }

    // 4. Run.
    try {
      instance = new WebAssembly.Instance(compiled, {
        [WASI_MODULE]: { ...real, ...guard(overrides) },
        [FUEL_LIMIT_IMPORT.module]: {
          [FUEL_LIMIT_IMPORT.name]: new WebAssembly.Global({ value: 'i64', mutable: false }, request.fuel),
        },
      })
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) {
        post(
          failed('invalid', `the module cannot be linked: ${err.message}`, {
            details: { link: err.message },
          }),
        )
      } else if (err instanceof RangeError && /memory/i.test(err.message)) {
        post(failed('memory', `the host could not allocate the module's memory: ${err.message}`))
      } else {
        post(classify(err, undefined))
      }
      return
    }
    post({ type: 'started', id: request.id })
    const started = performance.now()
    let exitCode: number
    try {
      // The module's own start function (moved out of instantiation by the rewrite) runs
      // first, as it would have, but metered and with WASI's memory set.
      const { exports } = instance
      const startFn = exports[START_EXPORT] as (() => void) | undefined
      const main = exports._start as () => void
      const command = {
        exports: {
          memory: exports.memory,
          _start: () => {
            startFn?.()
            main()
          },
        },
      }
      wasiStarted = true
      exitCode = wasi.start(command) ?? 0
    } catch (err) {
      post(classify(err, instance))
      return
    }
    const durationMs = performance.now() - started
    const stdout = concat(stdoutChunks, stdoutLength)
    post(
      {
        type: 'done',
        id: request.id,
        exitCode,
        stdout,
        stderr: stderrBytes(),
        fuelUsed: fuelUsedNow(),
        durationMs,
      },
      [stdout.buffer as ArrayBuffer],
    )
  } catch (err) {
    post(failed('internal', `the sandbox failed: ${describe(err)}`, { recycle: true }))
  } finally {
    try {
      closeGuestFds()
    } catch (err) {
      // Not the job's fault, and the job's outcome is already posted: replace the worker.
      post(failed('internal', `closing the job's descriptors failed: ${describe(err)}`, { recycle: true }))
    }
  }

  function classify(err: unknown, inst: WebAssembly.Instance | undefined): RunOutcome {
    const left = (inst?.exports[FUEL_EXPORT] as WebAssembly.Global | undefined)?.value as bigint | undefined
    const used = left === undefined ? undefined : left < 0n ? request.fuel : request.fuel - left
    const memoryExceeded =
      (inst?.exports[MEMORY_EXCEEDED_EXPORT] as WebAssembly.Global | undefined)?.value === 1
    if (err instanceof OutputLimitSignal) {
      return failed('output', `stdout passed ${request.outputBytes} bytes`, { ...withFuel(used) })
    }
    if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
      if (left !== undefined && left < 0n) return failed('fuel', 'out of fuel', { fuelUsed: request.fuel })
      if (memoryExceeded) {
        return failed('memory', `the module trapped (${err.message}) after memory.grow failed at the cap`, {
          details: { trap: err.message },
          ...withFuel(used),
        })
      }
      const stackOverflow = err instanceof RangeError && /call stack/i.test(err.message)
      return failed('trap', stackOverflow ? 'call stack exhausted' : err.message, { ...withFuel(used) })
    }
    return failed('internal', `the sandbox failed while running the module: ${describe(err)}`, {
      recycle: true,
    })
  }
}

/**
 * A host function that throws (other than to unwind the module on purpose) would surface as
 * a sandbox failure; a bad pointer the checks above missed becomes EFAULT instead.
 */
function guard(
  imports: Record<string, (...args: never[]) => number>,
): Record<string, (...args: never[]) => number> {
  return Object.fromEntries(
    Object.entries(imports).map(([name, fn]) => [
      name,
      (...args: never[]) => {
        try {
          return fn(...args)
        } catch (err) {
          if (err instanceof RangeError) return ERRNO_FAULT
          throw err
        }
      },
    ]),
  )
}

/** [ptr, ptr + len) lies inside the memory; pointers and lengths arrive as signed i32. */
function inBounds(view: DataView, ptr: number, len: number): boolean {
  return (ptr >>> 0) + len <= view.byteLength
}

function withFuel(fuelUsed: bigint | undefined): { fuelUsed?: bigint } {
  return fuelUsed === undefined ? {} : { fuelUsed }
}

function mkdirInput(dir: string, inputs: SandboxRequest['inputs']): void {
  const seen = new Set<string>()
  mkdirSync(dir)
  for (const input of inputs) {
    if (!INPUT_NAME.test(input.path) || input.path === '.' || input.path === '..' || seen.has(input.path)) {
      throw new Error(`bad input name ${JSON.stringify(input.path)}`)
    }
    seen.add(input.path)
    writeFileSync(join(dir, input.path), input.bytes, { mode: 0o444 })
  }
}

/** Zeroes what identifies the host (device, inode, link count, times) in a WASI filestat. */
function scrubFilestat(view: DataView, ptr: number): void {
  view.setBigUint64(ptr, 0n, true) // dev
  view.setBigUint64(ptr + 8, 0n, true) // ino
  view.setBigUint64(ptr + 24, 1n, true) // nlink
  if (view.getUint8(ptr + 16) === FILETYPE_DIRECTORY) view.setBigUint64(ptr + 32, 0n, true) // size
  for (const offset of [40, 48, 56]) view.setBigUint64(ptr + offset, VIRTUAL_EPOCH_NS, true)
}

/**
 * Serializes the /input listing as WASI dirents from `cookie` on (entry i has cookie i + 1),
 * truncating the last one if it does not fit, as preview1 specifies.
 */
function writeDirents(target: Uint8Array, names: Buffer[], cookie: bigint): number {
  let used = 0
  const from = cookie < 0n || cookie > BigInt(names.length) ? names.length : Number(cookie)
  for (let i = from; i < names.length && used < target.length; i++) {
    const name = names[i] as Buffer
    const entry = Buffer.alloc(24 + name.length)
    entry.writeBigUInt64LE(BigInt(i + 1), 0)
    entry.writeBigUInt64LE(0n, 8)
    entry.writeUInt32LE(name.length, 16)
    entry.writeUInt8(FILETYPE_REGULAR_FILE, 20)
    name.copy(entry, 24)
    const n = Math.min(entry.length, target.length - used)
    target.set(entry.subarray(0, n), used)
    used += n
  }
  return used
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

if (!isMainThread && parentPort) {
  const port = parentPort
  port.on('message', (request: SandboxRequest) => {
    const post = (message: SandboxMessage, transfer?: ArrayBuffer[]) =>
      port.postMessage(message, transfer ?? [])
    runSandboxJob(request, post).catch((err: unknown) => {
      // runSandboxJob posts its own failures; reaching here is a bug in it. Report it as the
      // executor's fault and let the executor replace this worker.
      post({
        type: 'failed',
        id: request.id,
        kind: 'internal',
        message: `the sandbox failed: ${describe(err)}`,
        details: {},
        stderr: new Uint8Array(),
        recycle: true,
      })
    })
  })
}
