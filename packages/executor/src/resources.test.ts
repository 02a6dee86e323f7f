import assert from 'node:assert/strict'
import { test } from 'node:test'
import { detectResources } from './resources.ts'

test('detectResources reports cores, memory and the wasm runtime', () => {
  const resources = detectResources()
  assert.ok(Number.isInteger(resources.cores) && resources.cores >= 1)
  assert.ok(Number.isInteger(resources.memoryMb) && resources.memoryMb > 0)
  assert.deepEqual(resources.runtimes, ['wasm'])
})
