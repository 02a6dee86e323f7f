import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { listGpus, parseNvidiaSmiCsv } from './nvidia-smi.ts'
import { probeResources } from './probe-resources.ts'
import { detectResources } from './resources.ts'

test('detectResources reports cores, memory and the wasm runtime', () => {
  const resources = detectResources()
  assert.ok(Number.isInteger(resources.cores) && resources.cores >= 1)
  assert.ok(Number.isInteger(resources.memoryMb) && resources.memoryMb > 0)
  assert.deepEqual(resources.runtimes, ['wasm'])
})

describe('parseNvidiaSmiCsv', () => {
  test('reads one GPU per line, memory in MiB', () => {
    const text = [
      'NVIDIA A100-SXM4-40GB, 40960 MiB',
      'NVIDIA GeForce RTX 4090, 24564 MiB',
      'Tesla T4, 15360 MiB',
      '',
    ].join('\n')
    assert.deepEqual(parseNvidiaSmiCsv(text), [
      { model: 'NVIDIA A100-SXM4-40GB', memoryMb: 40960 },
      { model: 'NVIDIA GeForce RTX 4090', memoryMb: 24564 },
      { model: 'Tesla T4', memoryMb: 15360 },
    ])
  })

  test('handles CRLF, nounits, other units, commas in names and unreported memory', () => {
    const text = 'Quadro RTX 8000, 46080\r\nWeird, Inc. GPU, 2 GiB\r\nGRID A100D-4C, [N/A]\r\n'
    assert.deepEqual(parseNvidiaSmiCsv(text), [
      { model: 'Quadro RTX 8000', memoryMb: 46080 },
      { model: 'Weird, Inc. GPU', memoryMb: 2048 },
      { model: 'GRID A100D-4C', memoryMb: 0 },
    ])
  })

  test('ignores errors and noise', () => {
    const text =
      'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n[N/A], [N/A]\n'
    assert.deepEqual(parseNvidiaSmiCsv(text), [])
    assert.deepEqual(parseNvidiaSmiCsv(''), [])
  })
})

describe('probeResources', () => {
  test('reports disk from statfs, GPUs from nvidia-smi, and runtimes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bazaar-probe-'))
    try {
      // A fake nvidia-smi that checks it was asked the documented query.
      const fake = join(dir, 'nvidia-smi')
      writeFileSync(
        fake,
        '#!/bin/sh\n[ "$1" = "--query-gpu=name,memory.total" ] && [ "$2" = "--format=csv,noheader" ] || exit 9\n' +
          'echo "NVIDIA L4, 23034 MiB"\n',
      )
      chmodSync(fake, 0o755)
      const resources = await probeResources({
        dataDir: dir,
        gpus: () => listGpus({ command: fake }),
        dockerPing: async () => true,
      })
      assert.ok(resources.disk.totalMb > 0)
      assert.ok(resources.disk.freeMb >= 0 && resources.disk.freeMb <= resources.disk.totalMb)
      assert.equal(resources.disk.path, dir)
      assert.deepEqual(resources.gpus, [{ model: 'NVIDIA L4', memoryMb: 23034 }])
      assert.deepEqual(resources.runtimes, ['wasm', 'docker'])
      assert.equal(resources.cores, detectResources().cores)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a missing nvidia-smi means no GPUs; a failing docker ping means no docker', async () => {
    const resources = await probeResources({
      dataDir: tmpdir(),
      gpus: () => listGpus({ command: '/nonexistent/nvidia-smi' }),
      dockerPing: async () => {
        throw new Error('connect ENOENT /var/run/docker.sock')
      },
    })
    assert.deepEqual(resources.gpus, [])
    assert.deepEqual(resources.runtimes, ['wasm'])
  })
})
