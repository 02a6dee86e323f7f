import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { BaseError, cidOf } from '@bazaar/protocol'
import type Docker from 'dockerode'
import {
  AbortedError,
  InvalidJobError,
  InvalidModuleError,
  MemoryLimitError,
  OutputTooLargeError,
  SandboxError,
  TimeoutError,
} from './errors.ts'
import type { ExecutorLogger } from './executor.ts'
import { readOutputTree, treeSize } from './output-tree.ts'
import { STDERR_KEEP_BYTES } from './sandbox-profile.ts'

/** A container job as the Docker executor runs it: everything already fetched and checked. */
export interface ContainerJob {
  /**
   * A local image: its ID (`sha256:…`, content-addressed: the same ID is the same image on
   * every provider) or a name already loaded. Nothing is pulled: the daemon has no registry.
   */
  image: string
  /** argv: the image's entrypoint is cleared, so this is exactly what runs. */
  command: string[]
  /** Exactly the environment the program sees (plus PATH if the image sets none: Docker's default). */
  env: Record<string, string>
  /** Files under /input (read-only); `path` is a plain file name. */
  inputs: { path: string; bytes: Uint8Array }[]
  limits: {
    memoryMb: number
    /** CPU share, e.g. 1 or 0.5 (Docker NanoCpus). */
    cpus: number
    /** Processes and threads the container may have. Default 64. */
    pids?: number
    timeoutMs: number
    /** Cap on stdout, and separately on the files left under /output. */
    outputBytes: number
  }
}

export interface ContainerOutput {
  /** Relative to /output, "/"-separated. */
  path: string
  cid: string
  bytes: Uint8Array
}

export interface ContainerResult {
  /** Non-zero is not an error: it is the program's answer. */
  exitCode: number
  stdout: Uint8Array
  /** The first 4 KiB of stderr. */
  stderr: Uint8Array
  /** Regular files left under /output, sorted by path, content-addressed. */
  outputs: ContainerOutput[]
  /** Wall-clock time from start to exit (not deterministic). */
  durationMs: number
}

export interface DockerExecutorInit {
  /** A dockerode client; default one on the local socket (`socketPath`). */
  docker?: Docker
  /** Default /var/run/docker.sock. */
  socketPath?: string
  logger?: ExecutorLogger
  /**
   * The user the program runs as ("uid:gid"). Default: this process's user, or 65534:65534
   * (nobody) when that is root, so the program is never root and its output files are
   * removable by the node.
   */
  user?: string
  /** How often the size of /output is checked while the job runs. Default 100 ms. */
  outputPollMs?: number
  /** Where job directories (inputs) are made. Default the OS temp dir. */
  workDir?: string
}

export interface DockerExecutor {
  /**
   * Runs a job in a fresh container. Resolves with the result (whatever the exit code) or
   * rejects with TimeoutError, MemoryLimitError, OutputTooLargeError, InvalidModuleError
   * (image not present), InvalidJobError, AbortedError or SandboxError (the daemon failed).
   */
  run(job: ContainerJob, opts?: { signal?: AbortSignal }): Promise<ContainerResult>
  /** Whether the daemon answers (false, never a rejection, when it does not). */
  ping(): Promise<boolean>
  /** Imports a root file system tarball (`docker import`) as `reference`; returns the image ID. */
  importRootfs(tarball: Uint8Array, reference: string): Promise<string>
  /** The ID of a local image (by name or ID), or undefined when the daemon does not have it. */
  imageId(reference: string): Promise<string | undefined>
  /** Kills running containers (their jobs reject with AbortedError). */
  close(): Promise<void>
}

const INPUT_NAME = /^[A-Za-z0-9._-]+$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Scratch space; counts against the memory limit (tmpfs pages are charged to the container). */
const TMP_MOUNT = 'rw,noexec,nosuid,nodev,size=16m'

/** Why a container was stopped by us rather than by itself. */
type StopReason = 'timeout' | 'abort' | 'output' | 'close'

/**
 * Runs jobs in Docker containers, each with no network, a read-only root, a non-root user
 * with no capabilities, CPU / memory / pids limits, the inputs mounted read-only at /input,
 * and a size-capped tmpfs volume at /output whose files are collected and content-addressed
 * after exit. Containers and volumes are removed whatever happens.
 */
export function createDockerExecutor(init: DockerExecutorInit = {}): DockerExecutor {
  // dockerode (and ssh2 under it) takes ~0.2 s to load: only when a container is wanted.
  let client: Promise<Docker> | undefined
  const getDocker = () =>
    (client ??= init.docker
      ? Promise.resolve(init.docker)
      : import('dockerode').then(
          ({ default: Dockerode }) =>
            new Dockerode({ socketPath: init.socketPath ?? '/var/run/docker.sock' }),
        ))
  const log = init.logger
  const uid = process.getuid?.() ?? 65534
  const user = init.user ?? (uid === 0 ? '65534:65534' : `${uid}:${process.getgid?.() ?? uid}`)
  const [userId, groupId] = user.split(':').map(Number) as [number, number | undefined]
  const pollMs = init.outputPollMs ?? 100
  const running = new Map<string, (reason: StopReason) => void>()
  let closed = false

  async function ping(): Promise<boolean> {
    try {
      await (await getDocker()).ping()
      return true
    } catch {
      return false
    }
  }

  async function importRootfs(tarball: Uint8Array, reference: string): Promise<string> {
    const docker = await getDocker()
    const [repo, tag = 'latest'] = splitReference(reference)
    const stream = await docker.importImage(
      Buffer.from(tarball) as unknown as NodeJS.ReadableStream,
      {
        repo,
        tag,
      } as unknown as Record<string, string>,
    )
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
    )
    const image = await docker.getImage(reference).inspect()
    return image.Id
  }

  async function imageId(reference: string): Promise<string | undefined> {
    const docker = await getDocker()
    try {
      return (await docker.getImage(reference).inspect()).Id
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      throw daemonError('inspecting an image', err)
    }
  }

  async function run(job: ContainerJob, opts: { signal?: AbortSignal } = {}): Promise<ContainerResult> {
    validate(job)
    const { signal } = opts
    if (closed) throw new AbortedError('the executor is closed')
    if (signal?.aborted)
      throw new AbortedError('the job was aborted before it started', { cause: signal.reason })
    const docker = await getDocker()
    try {
      await docker.getImage(job.image).inspect()
    } catch (err) {
      if (statusOf(err) === 404) {
        throw new InvalidModuleError(`the image ${job.image} is not present on this provider`, {
          hint: 'images are not pulled: the provider must load the image (e.g. from its tarball by CID) first',
          details: { image: job.image },
        })
      }
      throw daemonError('inspecting the image', err)
    }

    const id = randomBytes(6).toString('hex')
    const jobDir = mkdtempSync(join(init.workDir ?? tmpdir(), 'bazaar-container-'))
    const inputDir = join(jobDir, 'input')
    const outputDir = join(jobDir, 'output')
    let container: Docker.Container | undefined
    try {
      mkdirSync(inputDir)
      for (const input of job.inputs) writeFileSync(join(inputDir, input.path), input.bytes, { mode: 0o444 })
      chmodSync(inputDir, 0o555)
      mkdirSync(outputDir, { mode: 0o700 })
      if (uid === 0) chownSync(outputDir, userId, groupId ?? userId)

      const memoryBytes = job.limits.memoryMb * 2 ** 20
      container = await docker.createContainer({
        name: `bazaar-job-${id}`,
        Image: job.image,
        Entrypoint: [],
        Cmd: job.command,
        Env: Object.entries(job.env).map(([name, value]) => `${name}=${value}`),
        User: user,
        WorkingDir: '/',
        // Docker otherwise names the host after the container ID and exports it as $HOSTNAME.
        Hostname: 'sandbox',
        Domainname: '',
        NetworkDisabled: true,
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        OpenStdin: false,
        Labels: { 'bazaar.job': id },
        HostConfig: {
          NetworkMode: 'none',
          ReadonlyRootfs: true,
          Memory: memoryBytes,
          MemorySwap: memoryBytes,
          NanoCpus: Math.round(job.limits.cpus * 1e9),
          PidsLimit: job.limits.pids ?? 64,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          IpcMode: 'private',
          Binds: [`${inputDir}:/input:ro`, `${outputDir}:/output:rw`],
          Tmpfs: { '/tmp': TMP_MOUNT },
          // No single file may pass the output cap (EFBIG / SIGXFSZ); the total is polled.
          Ulimits: [
            { Name: 'nofile', Soft: 1024, Hard: 1024 },
            { Name: 'fsize', Soft: job.limits.outputBytes + 1, Hard: job.limits.outputBytes + 1 },
          ],
          LogConfig: { Type: 'none', Config: {} },
          AutoRemove: false,
        },
      })
      const started = container
      return await execute(started, job, outputDir, signal)
    } finally {
      if (container) await container.remove({ force: true, v: true }).catch((err) => warn('container', err))
      await rm(jobDir, { recursive: true, force: true }).catch((err: unknown) => warn('job directory', err))
    }
  }

  function warn(what: string, err: unknown): void {
    log?.warn({ err: err instanceof Error ? err.message : String(err) }, `could not remove a job ${what}`)
  }

  async function execute(
    container: Docker.Container,
    job: ContainerJob,
    outputDir: string,
    signal: AbortSignal | undefined,
  ): Promise<ContainerResult> {
    const docker = await getDocker()
    const stdout = new CappedSink(job.limits.outputBytes)
    const stderr = new CappedSink(STDERR_KEEP_BYTES, true)
    const stream = await container.attach({ stream: true, stdout: true, stderr: true })
    const streamEnded = new Promise<void>((resolve) => {
      stream.on('end', resolve)
      stream.on('close', resolve)
      stream.on('error', () => resolve())
    })
    docker.modem.demuxStream(stream, stdout, stderr)

    let stopReason: StopReason | undefined
    const stop = (reason: StopReason) => {
      if (stopReason) return
      stopReason = reason
      container.kill({ signal: 'SIGKILL' }).catch(() => {}) // already exited: nothing to do
    }
    stdout.onOverflow = () => stop('output')
    const onAbort = () => stop('abort')
    signal?.addEventListener('abort', onAbort, { once: true })
    running.set(container.id, stop)
    let timer: NodeJS.Timeout | undefined
    let poller: NodeJS.Timeout | undefined
    let outputBytes = 0
    try {
      // An abort (or close) that came while the container was being created found nothing to
      // kill yet: honour it here, or the job would run until its timeout.
      if (signal?.aborted) {
        throw new AbortedError('the job was aborted before its container started', { cause: signal.reason })
      }
      if (closed) throw new AbortedError('the executor is closed')
      const startedAt = performance.now()
      await container.start()
      timer = setTimeout(() => stop('timeout'), job.limits.timeoutMs)
      poller = setInterval(() => {
        outputBytes = Math.max(outputBytes, treeSize(outputDir))
        if (outputBytes > job.limits.outputBytes) stop('output')
      }, pollMs)
      const exit = (await container.wait()) as { StatusCode: number }
      // Also on the limit errors below (details.durationMs), so time used can be billed.
      const durationMs = performance.now() - startedAt
      clearTimeout(timer)
      clearInterval(poller)
      await Promise.race([streamEnded, new Promise((resolve) => setTimeout(resolve, 2000))])
      const state = (await container.inspect()).State

      switch (stopReason) {
        case 'timeout':
          throw new TimeoutError(job.limits.timeoutMs, 'run')
        case 'abort':
          throw new AbortedError('the job was aborted', { cause: signal?.reason })
        case 'close':
          throw new AbortedError('the executor is closed')
        case 'output':
          throw new OutputTooLargeError(job.limits.outputBytes, undefined, {
            details: { stream: stdout.overflowed ? 'stdout' : 'output', durationMs },
          })
      }
      if (state.OOMKilled) {
        throw new MemoryLimitError(
          `the container passed its ${job.limits.memoryMb} MiB memory limit and was killed`,
          job.limits.memoryMb,
          undefined,
          { details: { stderr: stderr.text(), durationMs } },
        )
      }
      const files = readOutputTree(outputDir, job.limits.outputBytes)
      if (files === undefined) {
        throw new OutputTooLargeError(job.limits.outputBytes, undefined, {
          details: { stream: 'output', durationMs },
        })
      }
      const outputs = await Promise.all(
        files.map(async (file) => ({ ...file, cid: await cidOf(file.bytes) })),
      )
      return {
        exitCode: exit.StatusCode,
        stdout: stdout.bytes(),
        stderr: stderr.bytes(),
        outputs,
        durationMs,
      }
    } catch (err) {
      if (err instanceof BaseError) throw err
      throw daemonError('running the container', err)
    } finally {
      clearTimeout(timer)
      clearInterval(poller)
      running.delete(container.id)
      signal?.removeEventListener('abort', onAbort)
      ;(stream as unknown as { destroy(): void }).destroy()
    }
  }

  async function close(): Promise<void> {
    closed = true
    for (const stop of running.values()) stop('close')
  }

  return { run, ping, importRootfs, imageId, close }
}

/** Collects a stream up to `limit` bytes; past it, either drops the rest or reports overflow. */
class CappedSink extends Writable {
  readonly limit: number
  readonly truncate: boolean
  chunks: Buffer[] = []
  length = 0
  overflowed = false
  onOverflow: () => void = () => {}
  constructor(limit: number, truncate = false) {
    super()
    this.limit = limit
    this.truncate = truncate
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const room = this.limit - this.length
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room))
      this.length = this.limit
      if (!this.truncate && !this.overflowed) {
        this.overflowed = true
        this.onOverflow()
      }
    } else {
      this.chunks.push(chunk)
      this.length += chunk.length
    }
    callback()
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks))
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

function splitReference(reference: string): [string, string | undefined] {
  const colon = reference.lastIndexOf(':')
  return colon > reference.lastIndexOf('/')
    ? [reference.slice(0, colon), reference.slice(colon + 1)]
    : [reference, undefined]
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined
}

function daemonError(what: string, err: unknown): SandboxError {
  return new SandboxError(
    `the Docker daemon failed while ${what}: ${err instanceof Error ? err.message : String(err)}`,
    {
      hint: 'check that dockerd is running and this user may use its socket',
      cause: err,
    },
  )
}

function validate(job: ContainerJob): void {
  const problems: string[] = []
  const { limits } = job
  if (typeof job.image !== 'string' || job.image.length === 0)
    problems.push('image must be a non-empty string')
  if (
    !Array.isArray(job.command) ||
    job.command.length === 0 ||
    job.command.some((arg) => typeof arg !== 'string' || arg.includes('\0'))
  ) {
    problems.push('command must be a non-empty list of strings')
  }
  for (const [name, value] of Object.entries(job.env ?? {})) {
    if (!ENV_NAME.test(name) || typeof value !== 'string' || value.includes('\0')) {
      problems.push(`env ${JSON.stringify(name)} is not a valid variable`)
    }
  }
  if (!Number.isInteger(limits?.memoryMb) || limits.memoryMb < 6 || limits.memoryMb > 1_048_576) {
    problems.push("limits.memoryMb must be an integer of at least 6 (Docker's minimum)")
  }
  if (!Number.isFinite(limits?.cpus) || limits.cpus <= 0 || limits.cpus > 1024)
    problems.push('limits.cpus must be positive')
  if (limits?.pids !== undefined && (!Number.isInteger(limits.pids) || limits.pids < 1)) {
    problems.push('limits.pids must be a positive integer')
  }
  if (!Number.isFinite(limits?.timeoutMs) || limits.timeoutMs <= 0)
    problems.push('limits.timeoutMs must be positive')
  if (!Number.isInteger(limits?.outputBytes) || limits.outputBytes < 0) {
    problems.push('limits.outputBytes must be a non-negative integer')
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
