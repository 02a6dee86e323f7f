import assert from 'node:assert/strict'
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
