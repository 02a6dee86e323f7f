import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseJobSpec } from '@bazaar/protocol'
import { createExecutor, type WasmJob } from './executor.ts'
import { exampleModule, referenceWordcount } from './test-fixtures.ts'

/** Loads examples/specs/<name> as the executor would receive it (local paths resolved against the spec). */
function loadSpec(name: string): WasmJob {
  const url = new URL(`../../../examples/specs/${name}`, import.meta.url)
  const spec = parseJobSpec(readFileSync(url, 'utf8'), fileURLToPath(url))
  const read = (path: string) => new Uint8Array(readFileSync(new URL(path, url)))
  assert.ok(spec.runtime === 'wasm', `${name} is a wasm spec`)
  assert.ok('path' in spec.module)
  return {
    module: read(spec.module.path),
    args: spec.args,
    env: spec.env,
    inputs: spec.inputs.map((input) => {
      if (input.path !== undefined) return { path: input.name, bytes: read(input.path) }
      assert.ok(input.text !== undefined, 'the example specs use no CIDs')
      return { path: input.name, bytes: new TextEncoder().encode(input.text) }
    }),
    limits: { ...spec.limits, memoryMb: spec.resources.memoryMb },
  }
}

test('the example specs are valid and run within their limits', async () => {
  await exampleModule('mandelbrot') // builds the examples if needed
  const executor = createExecutor({ workers: 2 })
  try {
    const [tile, words] = await Promise.all([
      executor.run(loadSpec('mandelbrot-tile.yaml')),
      executor.run(loadSpec('wordcount.yaml')),
    ])
    assert.equal(tile.exitCode, 0)
    assert.equal(tile.stdout.length, 64 * 64)
    assert.equal(words.exitCode, 0)
    const sample = readFileSync(new URL('../../../examples/data/sample.txt', import.meta.url), 'utf8')
    assert.equal(new TextDecoder().decode(words.stdout), referenceWordcount([sample]))
  } finally {
    await executor.close()
  }
})

test('the sha256 example matches node:crypto on the data it documents', async () => {
  const sha256 = await exampleModule('sha256')
  const executor = createExecutor({ workers: 1 })
  try {
    for (const kib of [0, 1, 64, 65, 200]) {
      const data = Buffer.alloc(kib * 1024)
      for (let i = 0; i < data.length; i++) data[i] = ((i % 65536) * 31 + ((i % 65536) >> 8)) & 0xff
      const result = await executor.run({
        module: sha256,
        moduleKey: 'sha256',
        args: [String(kib)],
        env: {},
        inputs: [],
        limits: { fuel: 10_000_000_000n, memoryMb: 16, timeoutMs: 20_000, outputBytes: 100 },
      })
      assert.equal(
        new TextDecoder().decode(result.stdout),
        `${createHash('sha256').update(data).digest('hex')}\n`,
      )
    }
  } finally {
    await executor.close()
  }
})

test('the container example spec is valid and bills by core-milliseconds', () => {
  const url = new URL('../../../examples/specs/busybox-wordcount.yaml', import.meta.url)
  const spec = parseJobSpec(readFileSync(url, 'utf8'), fileURLToPath(url))
  assert.ok(spec.runtime === 'docker')
  assert.equal(spec.limits.fuel, BigInt(spec.limits.timeoutMs * spec.resources.cores))
  assert.deepEqual(spec.output, { file: 'words.txt' })
})
