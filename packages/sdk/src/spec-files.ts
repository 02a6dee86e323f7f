import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { BaseError, ErrorCode, parseJobSpec } from '@bazaar/protocol'
import { parse } from 'yaml'
import type { BazaarClient } from './bazaar-client.ts'

/**
 * Reads a spec file, validates it here (so errors name the file and line), uploads every file
 * it references by path, and returns the spec with those references replaced by CIDs.
 */
export async function uploadSpecFile(client: BazaarClient, path: string): Promise<Record<string, unknown>> {
  const text = await readLocal(path, 'the job spec')
  parseJobSpec(text, path)
  const spec = parse(text) as Record<string, unknown>
  const baseDir = dirname(resolve(path))
  const upload = async (file: string) =>
    (await client.uploadBlob(await readLocal(resolve(baseDir, file), `a file named by ${path}`, true))).cid
  // A wasm spec names a module, a docker spec an image tarball: either may be a local path.
  const module = spec.module as { path?: string } | undefined
  if (module?.path !== undefined) spec.module = { cid: await upload(module.path) }
  const image = spec.image as { path?: string } | undefined
  if (image?.path !== undefined) spec.image = { cid: await upload(image.path) }
  const inputs = (spec.inputs ?? []) as { name: string; path?: string }[]
  spec.inputs = await Promise.all(
    inputs.map(async (input) =>
      input.path === undefined ? input : { name: input.name, cid: await upload(input.path) },
    ),
  )
  return spec
}

/** Reads a local file; a missing one is bad input (exit code 2), not a failure of ours. */
async function readLocal(file: string, what: string): Promise<string>
async function readLocal(file: string, what: string, binary: true): Promise<Uint8Array>
async function readLocal(file: string, what: string, binary?: true): Promise<string | Uint8Array> {
  try {
    return binary ? new Uint8Array(await readFile(file)) : await readFile(file, 'utf8')
  } catch (cause) {
    throw new BaseError(ErrorCode.InvalidSpec, `cannot read ${what}: ${file}`, {
      cause,
      hint: 'paths in a spec are relative to the spec file; build the examples with `npm run build`',
    })
  }
}
