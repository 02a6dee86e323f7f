import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { parseJobSpec } from '@bazaar/protocol'
import { parse } from 'yaml'
import type { BazaarClient } from './bazaar-client.ts'

/**
 * Reads a spec file, validates it here (so errors name the file and line), uploads every file
 * it references by path, and returns the spec with those references replaced by CIDs.
 */
export async function uploadSpecFile(client: BazaarClient, path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8')
  parseJobSpec(text, path)
  const spec = parse(text) as Record<string, unknown>
  const baseDir = dirname(resolve(path))
  const upload = async (file: string) =>
    (await client.uploadBlob(new Uint8Array(await readFile(resolve(baseDir, file))))).cid
  const module = spec.module as { path?: string }
  if (module.path !== undefined) spec.module = { cid: await upload(module.path) }
  const inputs = (spec.inputs ?? []) as { name: string; path?: string }[]
  spec.inputs = await Promise.all(
    inputs.map(async (input) =>
      input.path === undefined ? input : { name: input.name, cid: await upload(input.path) },
    ),
  )
  return spec
}
