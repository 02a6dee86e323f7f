import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BazaarClient } from './bazaar-client.ts'
import { uploadSpecFile } from './spec-files.ts'

/** Records uploads and names each blob by its text: a unit test of the layer above the API. */
function recordingClient() {
  const uploads: string[] = []
  const client = {
    async uploadBlob(bytes: Uint8Array) {
      const text = new TextDecoder().decode(bytes)
      uploads.push(text)
      return { cid: `cid-of-${text}`, size: bytes.length }
    },
  } as unknown as BazaarClient
  return { client, uploads }
}

describe('uploadSpecFile', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-sdk-'))
    await writeFile(join(dir, 'rootfs.tar'), 'rootfs')
    await writeFile(join(dir, 'in.txt'), 'input')
    await writeFile(join(dir, 'm.wasm'), 'module')
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('uploads a docker spec image and its inputs, and replaces the paths by CIDs', async () => {
    const file = join(dir, 'docker.yaml')
    await writeFile(
      file,
      [
        'version: 1',
        'runtime: docker',
        'image: { path: rootfs.tar }',
        'command: [/bin/true]',
        'inputs: [{ name: in.txt, path: in.txt }]',
        'limits: { timeoutMs: 1000 }',
        'price: { maxPerFuel: "1" }',
      ].join('\n'),
    )
    const { client, uploads } = recordingClient()
    const spec = await uploadSpecFile(client, file)
    assert.deepEqual(spec.image, { cid: 'cid-of-rootfs' })
    assert.deepEqual(spec.inputs, [{ name: 'in.txt', cid: 'cid-of-input' }])
    assert.deepEqual(uploads.sort(), ['input', 'rootfs'])
  })

  it('uploads a wasm module, and names a missing file with a hint', async () => {
    const file = join(dir, 'wasm.yaml')
    await writeFile(
      file,
      'version: 1\nruntime: wasm\nmodule: { path: m.wasm }\nlimits: { fuel: 5 }\nprice: { maxPerFuel: "1" }\n',
    )
    const { client } = recordingClient()
    assert.deepEqual((await uploadSpecFile(client, file)).module, { cid: 'cid-of-module' })
    await writeFile(
      file,
      'version: 1\nruntime: wasm\nmodule: { path: gone.wasm }\nlimits: { fuel: 5 }\nprice: { maxPerFuel: "1" }\n',
    )
    await assert.rejects(uploadSpecFile(client, file), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'E_INVALID_SPEC')
      assert.match(err.message, /gone\.wasm/)
      assert.match(err.hint ?? '', /relative to the spec file/)
      return true
    })
  })
})
