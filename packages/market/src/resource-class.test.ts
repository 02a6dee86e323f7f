import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { offerResourceClasses, resourceClass, unclassifiedResourceClass } from './resource-class.ts'

describe('resource classes', () => {
  it('rounds job requirements up to a power of two', () => {
    assert.equal(resourceClass({ runtime: 'wasm', cores: 1, memoryMb: 64 }), 'wasm/c1/m64m')
    assert.equal(resourceClass({ runtime: 'wasm', cores: 3, memoryMb: 3000 }), 'wasm/c4/m4g')
    assert.equal(resourceClass({ runtime: 'wasm', cores: 4, memoryMb: 4096 }), 'wasm/c4/m4g')
    assert.equal(
      resourceClass({ runtime: 'wasm', cores: 8, memoryMb: 20_000, gpu: { count: 2, model: 'NVIDIA A100' } }),
      'wasm/c8/m32g/g2-nvidia-a100',
    )
    assert.equal(
      resourceClass({ runtime: 'wasm', cores: 1, memoryMb: 512, gpu: { count: 1 } }),
      'wasm/c1/m512m/g1',
    )
  })

  it('rounds offered capacity down: the largest class it fully serves', () => {
    assert.deepEqual(
      offerResourceClasses({ runtimes: ['wasm', 'docker'], cores: 12, memoryMb: 24_000, gpus: [] }),
      ['docker/c8/m16g', 'wasm/c8/m16g'],
    )
  })

  it('classes an award known only on-chain by its fuel limit', () => {
    assert.equal(unclassifiedResourceClass(50_000_000n), 'unclassified/f64m')
    assert.equal(unclassifiedResourceClass(1n), 'unclassified/f1')
    assert.equal(unclassifiedResourceClass(1_000n), 'unclassified/f1k')
    assert.equal(unclassifiedResourceClass(1_025n), 'unclassified/f2k')
    assert.equal(unclassifiedResourceClass(1n << 30n), 'unclassified/f1g')
    assert.equal(unclassifiedResourceClass(3n << 40n), 'unclassified/f4t')
  })
})
