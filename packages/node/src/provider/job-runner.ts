import type { ContainerJob, ContainerResult } from '@bazaar/executor'
import {
  BaseError,
  describeError,
  ErrorCode,
  hashJobDescriptor,
  type JobDescriptor,
  type ResultReceipt,
} from '@bazaar/protocol'
import type { DockerJobDescriptor, WasmJobDescriptor } from '@bazaar/protocol/job-descriptor'
import type { ReceiptSubject } from '@bazaar/protocol/receipt'
import type { ContentStore } from '../content-store.ts'
import type { WasmRunner } from './provider-service.ts'

/** The subset of the Docker executor (`createDockerExecutor`) the provider needs. */
export interface ContainerRunner {
  run(job: ContainerJob, opts?: { signal?: AbortSignal }): Promise<ContainerResult>
  importRootfs(tarball: Uint8Array, reference: string): Promise<string>
  imageId(reference: string): Promise<string | undefined>
}

export interface JobRunnerInit {
  wasm: WasmRunner
  /**
   * Containers, only when a Docker daemon answered (see `probeResources`): the provider
   * then also advertises the `docker` runtime. Without it docker jobs are declined at
   * bidding, and one that gets here anyway ends in an error receipt billing nothing.
   */
  containers?: ContainerRunner
}

export interface RunJobRequest {
  /**
   * The on-chain job id (decimal): the receipt's `jobId` and the WASI random seed, except for
   * a replicated job, whose receipt and seed are the spec hash (see `receiptSubject`).
   */
  jobId: string
  job: JobDescriptor
  /** Fetches content by CID from the requester (the transfer verifies the bytes against the CID). */
  fetch: (cid: string) => Promise<Uint8Array>
  /** Where outputs are kept for the requester to fetch by CID. */
  store: Pick<ContentStore, 'put'>
  signal?: AbortSignal
}

/** A runner for every runtime this provider has; also usable where only a `WasmRunner` is wanted. */
export interface JobRunner extends WasmRunner {
  /** `wasm`, and `docker` when containers were given: what the provider may advertise. */
  readonly runtimes: readonly string[]
  /**
   * Fetches what the job names, runs it with the executor of its runtime and stores its
   * output. Never rejects: every outcome is a receipt (see docs/execution.md for billing).
   */
  runJob(request: RunJobRequest): Promise<ResultReceipt>
}

function isJobRunner(runner: WasmRunner): runner is JobRunner {
  return typeof (runner as Partial<JobRunner>).runJob === 'function'
}

/** Runs a job with `runner`'s executor for its runtime; a plain WasmRunner runs wasm jobs only. */
export function runJob(runner: WasmRunner, request: RunJobRequest): Promise<ResultReceipt> {
  return (isJobRunner(runner) ? runner : createJobRunner({ wasm: runner })).runJob(request)
}

/** The local image name a root file system tarball is imported under: its CID is the tag. */
export function imageReference(imageCid: string): string {
  return `bazaar-image:${imageCid}`
}
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/**
 * Whom a job's receipt names, and its WASI seed. A replicated job's k replicas are k on-chain
 * jobs of one spec: anything naming the job id would make honest replicas disagree, so they
 * (and any referee re-executing one of them) use the spec hash, which the descriptor's nonce
 * makes unique to the replica group. Other jobs keep the job id.
 */
export function receiptSubject(jobId: string, job: JobDescriptor): ReceiptSubject & { seed: string } {
  if (job.verification.mode === 'replicated') {
    const specHash = hashJobDescriptor(job)
    return { version: 2, specHash, seed: specHash }
  }
  return { version: 1, jobId, seed: jobId }
}

function subjectFields(subject: ReceiptSubject): ReceiptSubject {
  return subject.version === 2
    ? { version: 2, specHash: subject.specHash }
    : { version: 1, jobId: subject.jobId }
}

/** Why a job could not be run at all (nothing fetched, or nothing to run it with): bills 0. */
class JobNotRunError extends BaseError {
  override name = 'JobNotRunError' as const
}

/**
 * Picks the executor by the job's runtime: WASI modules go to the wasm pool, container
 * jobs to Docker (their image tarball is fetched and imported once per CID).
 */
export function createJobRunner(init: JobRunnerInit): JobRunner {
  const { wasm, containers } = init
  /** Image imports in progress or done, by CID, so concurrent jobs import an image once. */
  const images = new Map<string, Promise<string>>()

  const receiptFor = (
    request: RunJobRequest,
    output: Uint8Array,
    outputCid: string,
    exitCode: number,
    fuelUsed: bigint,
  ): ResultReceipt => ({
    ...subjectFields(receiptSubject(request.jobId, request.job)),
    status: 'ok',
    exitCode,
    outputCid,
    outputBytes: output.length,
    fuelUsed: fuelUsed.toString(),
  })

  const errorReceipt = (request: RunJobRequest, err: unknown, fuelUsed: bigint): ResultReceipt => ({
    ...subjectFields(receiptSubject(request.jobId, request.job)),
    status: 'error',
    errorCode: err instanceof BaseError ? err.code : ErrorCode.Internal,
    // Hints are fixed per error kind; engine messages are not, and receipts must be
    // identical across honest providers.
    errorMessage: (err instanceof BaseError ? (err.hint ?? err.name) : 'internal error').slice(0, 512),
    fuelUsed: fuelUsed.toString(),
  })

  async function runWasm(request: RunJobRequest, job: WasmJobDescriptor): Promise<ResultReceipt> {
    const fuelLimit = BigInt(job.limits.fuel)
    const module = await request.fetch(job.moduleCid)
    const inputs = await fetchInputs(request)
    try {
      const result = await wasm.run(
        {
          module,
          moduleKey: job.moduleCid,
          args: job.args,
          env: job.env,
          inputs,
          limits: {
            fuel: fuelLimit,
            memoryMb: job.resources.memoryMb,
            timeoutMs: job.limits.timeoutMs,
            outputBytes: job.limits.outputBytes,
          },
          seed: receiptSubject(request.jobId, job).seed,
        },
        request.signal ? { signal: request.signal } : {},
      )
      const outputCid = await request.store.put(result.stdout)
      return receiptFor(request, result.stdout, outputCid, result.exitCode, result.fuelUsed)
    } catch (err) {
      // A job that fails in the sandbox is still work done: out of fuel bills the whole
      // limit (the requester chose it); any other failure bills the fuel it reports.
      const code = err instanceof BaseError ? err.code : ErrorCode.Internal
      const reported = err instanceof BaseError ? err.details.fuelUsed : undefined
      const fuelUsed =
        code === ErrorCode.OutOfFuel
          ? fuelLimit
          : typeof reported === 'string' || typeof reported === 'bigint'
            ? BigInt(reported)
            : 0n
      return errorReceipt(request, err, fuelUsed > fuelLimit ? fuelLimit : fuelUsed)
    }
  }

  /** The image's local ID, importing its tarball (fetched by CID) the first time. */
  function imageFor(docker: ContainerRunner, request: RunJobRequest, imageCid: string): Promise<string> {
    let image = images.get(imageCid)
    if (!image) {
      image = (async () => {
        if (!DOCKER_TAG.test(imageCid)) {
          throw new JobNotRunError(
            ErrorCode.InvalidModule,
            `image CID ${imageCid} cannot be a local image tag`,
            { hint: 'refer to the image tarball by its CIDv1 (base32), as prepareJob does' },
          )
        }
        const reference = imageReference(imageCid)
        const present = await docker.imageId(reference)
        if (present) return present
        const tarball = await request.fetch(imageCid)
        try {
          return await docker.importRootfs(tarball, reference)
        } catch (cause) {
          throw new JobNotRunError(ErrorCode.InvalidModule, 'the image tarball could not be imported', {
            hint: 'give a root file system tarball (`docker export $(docker create IMAGE) > rootfs.tar`)',
            cause,
          })
        }
      })()
      images.set(imageCid, image)
      // A failed import may succeed later (daemon restarted, another requester's bytes).
      image.catch(() => images.delete(imageCid))
    }
    return image
  }

  async function runContainer(request: RunJobRequest, job: DockerJobDescriptor): Promise<ResultReceipt> {
    if (!containers) {
      throw new JobNotRunError(ErrorCode.InvalidModule, 'this provider has no Docker daemon', {
        hint: 'send docker jobs to providers whose offer lists the docker runtime',
      })
    }
    const fuelLimit = BigInt(job.limits.fuel)
    const cores = BigInt(job.resources.cores)
    // One fuel unit is one core-millisecond of container wall time, capped at the limit.
    const billed = (durationMs: unknown): bigint => {
      const ms = typeof durationMs === 'number' && Number.isFinite(durationMs) ? Math.ceil(durationMs) : 0
      const fuel = BigInt(Math.max(ms, 0)) * cores
      return fuel > fuelLimit ? fuelLimit : fuel
    }
    const image = await imageFor(containers, request, job.imageCid)
    const inputs = await fetchInputs(request)
    let result: ContainerResult
    try {
      result = await containers.run(
        {
          image,
          command: job.command,
          env: job.env,
          inputs,
          limits: {
            memoryMb: job.resources.memoryMb,
            cpus: job.resources.cores,
            pids: job.limits.pids,
            timeoutMs: job.limits.timeoutMs,
            outputBytes: job.limits.outputBytes,
          },
        },
        request.signal ? { signal: request.signal } : {},
      )
    } catch (err) {
      // Timeout bills the whole limit (the requester chose it); memory and output limits
      // bill the time the container ran; the provider's own failures bill nothing.
      const code = err instanceof BaseError ? err.code : ErrorCode.Internal
      const fuelUsed =
        code === ErrorCode.Timeout
          ? fuelLimit
          : code === ErrorCode.MemoryLimit || code === ErrorCode.OutputTooLarge
            ? billed((err as BaseError).details.durationMs)
            : 0n
      return errorReceipt(request, err, fuelUsed)
    }
    const fuelUsed = billed(result.durationMs)
    let output = result.stdout
    if (job.output !== 'stdout') {
      const wanted = job.output.file
      const file = result.outputs.find((o) => o.path === wanted)
      if (!file) {
        const err = new JobNotRunError(ErrorCode.NotFound, `the job left no /output/${wanted}`, {
          hint: 'the command must write the file named by output.file under /output',
        })
        return errorReceipt(request, err, fuelUsed)
      }
      output = file.bytes
    }
    const outputCid = await request.store.put(output)
    return receiptFor(request, output, outputCid, result.exitCode, fuelUsed)
  }

  async function fetchInputs(request: RunJobRequest) {
    const inputs = []
    for (const input of request.job.inputs)
      inputs.push({ path: input.path, bytes: await request.fetch(input.cid) })
    return inputs
  }

  return {
    runtimes: containers ? ['wasm', 'docker'] : ['wasm'],
    run: (job, opts) => wasm.run(job, opts),
    async runJob(request) {
      try {
        return request.job.runtime === 'docker'
          ? await runContainer(request, request.job)
          : await runWasm(request, request.job)
      } catch (err) {
        // Could not even start (requester unreachable, bad bytes, no daemon): bill nothing.
        return {
          ...subjectFields(receiptSubject(request.jobId, request.job)),
          status: 'error',
          errorCode: err instanceof BaseError ? err.code : ErrorCode.Internal,
          errorMessage: describeError(err).slice(0, 512),
          fuelUsed: '0',
        }
      }
    },
  }
}
