import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hashJobDescriptor, jobDescriptorSchema } from './job-descriptor.ts'
import { InvalidSpecError, parseJobSpec } from './spec.ts'
import { dockerFuelLimit } from './spec-docker.ts'

const valid = `version: 1
name: busybox-wc
runtime: docker
image: { path: ./rootfs.tar }
command: [/bin/sh, -c, "wc -w < /input/words.txt"]
env: { LANG: C }
inputs:
  - { name: words.txt, text: "a b c" }
resources: { cores: 2, memoryMb: 32 }
limits: { timeoutMs: 5000, outputBytes: 4096 }
price: { maxPerFuel: "1000000" }
`

function issuesOf(text: string) {
  try {
    parseJobSpec(text, 'job.yaml')
  } catch (err) {
    assert.ok(err instanceof InvalidSpecError)
    assert.equal(err.code, 'E_INVALID_SPEC')
    return Object.fromEntries(err.issues.map((issue) => [issue.field, issue]))
  }
  assert.fail('expected InvalidSpecError')
}

describe('docker job specs', () => {
  it('parses a container spec, fills defaults and derives the fuel limit in core-milliseconds', () => {
    const spec = parseJobSpec(valid)
    assert.ok(spec.runtime === 'docker')
    assert.deepEqual(spec.image, { path: './rootfs.tar' })
    assert.deepEqual(spec.command, ['/bin/sh', '-c', 'wc -w < /input/words.txt'])
    assert.equal(spec.output, 'stdout')
    assert.deepEqual(spec.resources, { cores: 2, memoryMb: 32 })
    assert.equal(spec.limits.pids, 64)
    assert.equal(spec.limits.fuel, 10_000n, '5000 ms x 2 cores')
    assert.equal(dockerFuelLimit(5000, 2), 10_000n)
    assert.equal(spec.price.maxPerFuel, 1_000_000n)
  })

  it('accepts an image by CID and an output file under /output', () => {
    const spec = parseJobSpec(
      valid
        .replace('{ path: ./rootfs.tar }', '{ cid: bafkreiabc }')
        .replace('price:', 'output: { file: out/result.json }\nprice:'),
    )
    assert.ok(spec.runtime === 'docker')
    assert.deepEqual(spec.image, { cid: 'bafkreiabc' })
    assert.deepEqual(spec.output, { file: 'out/result.json' })
  })

  it('names each bad field, its line, and how to fix it', () => {
    const issues = issuesOf(
      valid
        .replace('{ path: ./rootfs.tar }', '{ text: "not an image" }')
        .replace('command: [/bin/sh, -c, "wc -w < /input/words.txt"]', 'command: []')
        .replace('memoryMb: 32', 'memoryMb: 2')
        .replace('timeoutMs: 5000, ', 'fuel: 100, ')
        .replace('price:', 'output: { file: ../etc/passwd }\nmodule: { path: a.wasm }\nargs: [x]\nprice:'),
    )
    assert.match(issues.image?.message ?? '', /path: <root file system tarball>.*cid/)
    assert.equal(issues.image?.line, 4)
    assert.match(issues.command?.message ?? '', /at least the program/)
    assert.equal(issues.command?.line, 5)
    assert.match(issues['resources.memoryMb']?.message ?? '', /at least 6/)
    assert.match(issues['limits.fuel']?.message ?? '', /billed by time: remove limits.fuel/)
    assert.match(issues['limits.timeoutMs']?.message ?? '', /required for docker jobs/)
    assert.match(issues['output.file']?.message ?? '', /"\." or "\.\."/)
    assert.match(issues.module?.message ?? '', /use image: .* and command/)
    assert.match(issues.args?.message ?? '', /arguments in command/)
  })

  it('says what is missing when limits or command are absent', () => {
    const issues = issuesOf(
      valid.replace('limits: { timeoutMs: 5000, outputBytes: 4096 }\n', '').replace(/command: .*\n/, ''),
    )
    assert.match(issues.limits?.message ?? '', /limits: \{ timeoutMs/)
    assert.match(issues.command?.message ?? '', /program and its arguments/)
  })

  it('rejects container fields in a wasm spec, and an unknown runtime with the choices', () => {
    const wasm = `version: 1
runtime: wasm
module: { path: a.wasm }
command: [x]
image: { cid: y }
limits: { fuel: 10 }
price: { maxPerFuel: 1 }
`
    const issues = issuesOf(wasm)
    assert.match(issues.command?.message ?? '', /only docker jobs have a command/)
    assert.match(issues.image?.message ?? '', /set runtime: docker/)
    const unknown = issuesOf(wasm.replace('runtime: wasm', 'runtime: podman'))
    assert.match(unknown.runtime?.message ?? '', /"wasm" .* or "docker"/)
  })
})

describe('docker job specs and replication', () => {
  it('refuses replicated verification (container fuel is wall time, not deterministic)', () => {
    const issues = issuesOf(`${valid}verification: { mode: replicated, k: 2 }\n`)
    assert.match(issues.verification?.message ?? '', /runtime: wasm/)
    assert.equal(parseJobSpec(`${valid}verification: { mode: audit }\n`).verification.mode, 'audit')
  })
})

describe('docker job descriptors', () => {
  const descriptor = {
    name: 'd',
    runtime: 'docker',
    imageCid: 'bafkreiimage',
    command: ['/bin/true'],
    env: {},
    inputs: [],
    output: 'stdout',
    resources: { cores: 2, memoryMb: 64 },
    limits: { fuel: '10000', timeoutMs: 5000, outputBytes: 100, pids: 64 },
    maxPricePerFuel: '7',
    verification: { mode: 'none' },
  }

  it('accepts a descriptor whose fuel limit is timeoutMs x cores, and hashes it', () => {
    const parsed = jobDescriptorSchema.parse(descriptor)
    assert.match(hashJobDescriptor(parsed), /^0x[0-9a-f]{64}$/)
  })

  it('rejects a docker descriptor claiming another fuel limit (the escrow would not match the timeout)', () => {
    const result = jobDescriptorSchema.safeParse({
      ...descriptor,
      limits: { ...descriptor.limits, fuel: '99999' },
    })
    assert.equal(result.success, false)
  })

  it('keeps a wasm descriptor, and so its spec hash, exactly as before', () => {
    const wasm = {
      name: 'w',
      runtime: 'wasm',
      moduleCid: 'bafkreimodule',
      args: [],
      env: {},
      inputs: [],
      resources: { cores: 1, memoryMb: 16 },
      limits: { fuel: '1000', timeoutMs: 5000, outputBytes: 100 },
      maxPricePerFuel: '7',
      verification: { mode: 'none' },
    }
    const parsed = jobDescriptorSchema.parse(wasm)
    assert.deepEqual(parsed, wasm)
    // Computed before containers were added to the descriptor.
    assert.equal(hashJobDescriptor(parsed), WASM_HASH)
  })
})

const WASM_HASH = '0xb96406d652a7ab9bff2ff64272ae26f2957890ba1007b254cf7a77975ff3a07b'
