import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  BaseError,
  cidOf,
  ErrorCode,
  hashJobDescriptor,
  type JobDescriptor,
  type JobSpec,
  parseCid,
  type SourceRef,
} from '@bazaar/protocol'
import { dockerFuelLimit } from '@bazaar/protocol/spec-docker'
import type { Hex } from 'viem'

/** A job ready for the market: its descriptor, its hash, and the blobs it names. */
export interface PreparedJob {
  descriptor: JobDescriptor
  specHash: Hex
  /** Module (or image) and input bytes by CID, served to the winning provider. */
  blobs: Map<string, Uint8Array>
  spec: JobSpec
}

export class SpecFileError extends BaseError {
  override name = 'SpecFileError' as const
}

export interface PrepareOptions {
  /** Folder that relative `path` references are resolved against (the spec's folder). */
  baseDir: string
  /** Blobs the caller already has, e.g. bytes passed in by an SDK user, looked up by CID. */
  known?: ReadonlyMap<string, Uint8Array>
  /** Further lookup by CID, e.g. the node's content store holding uploaded blobs. */
  lookup?: (cid: string) => Promise<Uint8Array | undefined>
  /** Refuse `path` references (specs arriving over the API must not read the node's disk). */
  allowPaths?: boolean
}

/** Resolves every file a spec names (module or image, inputs) into bytes and CIDs. */
export async function prepareJob(spec: JobSpec, options: PrepareOptions): Promise<PreparedJob> {
  const blobs = new Map<string, Uint8Array>()
  const load = async (ref: SourceRef, field: string): Promise<{ cid: string; size: number }> => {
    let bytes: Uint8Array | undefined
    if ('text' in ref) bytes = new TextEncoder().encode(ref.text)
    else if ('path' in ref) {
      if (options.allowPaths === false) {
        throw new SpecFileError(ErrorCode.InvalidSpec, `${field}: file paths are not accepted here`, {
          hint: 'upload the file (POST /v1/blobs) and refer to it by cid; `bazaar job run` and the SDK do this for you',
        })
      }
      const file = resolve(options.baseDir, ref.path)
      try {
        bytes = new Uint8Array(await readFile(file))
      } catch (cause) {
        throw new SpecFileError(ErrorCode.InvalidSpec, `${field}: cannot read ${file}`, {
          hint: 'paths in a spec are relative to the spec file; build the examples with `npm run build`',
          cause,
        })
      }
    } else {
      parseCid(ref.cid)
      bytes = options.known?.get(ref.cid) ?? (await options.lookup?.(ref.cid))
      if (!bytes) {
        throw new SpecFileError(
          ErrorCode.NotFound,
          `${field}: content ${ref.cid} is not available on this node`,
          {
            hint: 'give the file by path, or add it to the node first',
          },
        )
      }
    }
    const cid = await cidOf(bytes)
    blobs.set(cid, bytes)
    return { cid, size: bytes.length }
  }

  // The program first (a module, or for docker a root file system tarball, content-addressed
  // and served like an input), then the inputs.
  const program =
    spec.runtime === 'docker' ? await load(spec.image, 'image') : await load(spec.module, 'module')
  const inputs = []
  for (const [index, input] of spec.inputs.entries()) {
    const ref: SourceRef =
      input.text !== undefined
        ? { text: input.text }
        : input.cid !== undefined
          ? { cid: input.cid }
          : { path: input.path ?? '' }
    const loaded = await load(ref, `inputs.${index}`)
    inputs.push({ path: input.name, cid: loaded.cid, size: loaded.size })
  }
  const common = {
    name: spec.name ?? 'job',
    env: spec.env,
    inputs,
    resources: spec.resources,
    maxPricePerFuel: spec.price.maxPerFuel.toString(),
    verification: descriptorVerification(spec.verification),
  }
  let descriptor: JobDescriptor
  if (spec.runtime === 'docker') {
    descriptor = {
      ...common,
      runtime: 'docker',
      imageCid: program.cid,
      command: spec.command,
      output: spec.output,
      limits: {
        // Not the requester's choice: every requested core for the whole timeout (core-ms).
        fuel: dockerFuelLimit(spec.limits.timeoutMs, spec.resources.cores).toString(),
        timeoutMs: spec.limits.timeoutMs,
        outputBytes: spec.limits.outputBytes,
        pids: spec.limits.pids,
      },
    }
  } else {
    descriptor = {
      ...common,
      runtime: 'wasm',
      moduleCid: program.cid,
      args: spec.args,
      limits: {
        fuel: spec.limits.fuel.toString(),
        timeoutMs: spec.limits.timeoutMs,
        outputBytes: spec.limits.outputBytes,
      },
    }
  }
  return { descriptor, specHash: hashJobDescriptor(descriptor), blobs, spec }
}

/**
 * The verification a descriptor carries: the spec's, and for a replicated job a fresh random
 * nonce, so the replica group's spec hash (its replicas' seed and receipt subject) is its own.
 */
function descriptorVerification(verification: JobSpec['verification']): JobDescriptor['verification'] {
  if (verification.mode !== 'replicated') return verification
  return { mode: 'replicated', k: verification.k, nonce: `0x${randomBytes(32).toString('hex')}` }
}
