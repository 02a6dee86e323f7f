import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { cidOf, jobDescriptorSchema, parseJobSpec } from '@bazaar/protocol'
import { prepareJob } from './prepare-job.ts'

describe('prepareJob with a docker spec', () => {
  it('content-addresses the image tarball and inputs and derives the fuel limit from timeout x cores', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bazaar-prepare-'))
    try {
      const tarball = new TextEncoder().encode('pretend this is a rootfs tarball')
      await writeFile(join(dir, 'rootfs.tar'), tarball)
      const spec = parseJobSpec(`version: 1
runtime: docker
image: { path: rootfs.tar }
command: [/bin/sh, -c, "cat /input/a.txt > /output/r.txt"]
inputs: [{ name: a.txt, text: hello }]
output: { file: r.txt }
resources: { cores: 3, memoryMb: 32 }
limits: { timeoutMs: 2000 }
price: { maxPerFuel: 5 }
`)
      const prepared = await prepareJob(spec, { baseDir: dir })
      const imageCid = await cidOf(tarball)
      const { descriptor } = prepared
      assert.ok(descriptor.runtime === 'docker')
      assert.equal(descriptor.imageCid, imageCid)
      assert.deepEqual(descriptor.command, ['/bin/sh', '-c', 'cat /input/a.txt > /output/r.txt'])
      assert.deepEqual(descriptor.output, { file: 'r.txt' })
      assert.deepEqual(descriptor.limits, { fuel: '6000', timeoutMs: 2000, outputBytes: 16 << 20, pids: 64 })
      assert.deepEqual(prepared.blobs.get(imageCid), tarball)
      assert.equal(prepared.blobs.size, 2, 'image and input')
      // What is gossiped must pass the descriptor schema providers check.
      assert.deepEqual(jobDescriptorSchema.parse(descriptor), descriptor)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses an image path when paths are not allowed (specs over the API)', async () => {
    const spec = parseJobSpec(`version: 1
runtime: docker
image: { path: rootfs.tar }
command: [/bin/true]
limits: { timeoutMs: 2000 }
price: { maxPerFuel: 5 }
`)
    await assert.rejects(
      prepareJob(spec, { baseDir: '/', allowPaths: false }),
      /image: file paths are not accepted/,
    )
  })
})

describe('prepareJob with replicated verification', () => {
  it('adds a fresh nonce, so each submission is its own replica group (its own spec hash)', async () => {
    const spec = parseJobSpec(`version: 1
runtime: wasm
module: { text: "not really wasm" }
limits: { fuel: 1000 }
price: { maxPerFuel: 5 }
verification: { mode: replicated, k: 3 }
`)
    const a = await prepareJob(spec, { baseDir: '/' })
    const b = await prepareJob(spec, { baseDir: '/' })
    assert.ok(a.descriptor.verification.mode === 'replicated')
    assert.equal(a.descriptor.verification.k, 3)
    assert.match(a.descriptor.verification.nonce, /^0x[0-9a-f]{64}$/)
    assert.notEqual(a.specHash, b.specHash)
    assert.deepEqual(jobDescriptorSchema.parse(a.descriptor), a.descriptor)
  })
})
