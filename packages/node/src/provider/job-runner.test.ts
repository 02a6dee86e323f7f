import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ContainerJob, ContainerResult } from '@bazaar/executor'
import { MemoryLimitError, OutOfFuelError, TimeoutError } from '@bazaar/executor'
import { cidOf, encodeReceipt, hashJobDescriptor, type JobDescriptor } from '@bazaar/protocol'
import type { DockerJobDescriptor, WasmJobDescriptor } from '@bazaar/protocol/job-descriptor'
import {
  type ContainerRunner,
  createJobRunner,
  imageReference,
  receiptSubject,
  runJob,
} from './job-runner.ts'
import type { WasmRunner } from './provider-service.ts'

const bytes = (text: string) => new TextEncoder().encode(text)

const wasmJob: WasmJobDescriptor = {
  name: 'w',
  runtime: 'wasm',
  moduleCid: 'module-cid',
  args: ['a'],
  env: { LANG: 'C' },
  inputs: [{ path: 'in.txt', cid: 'input-cid', size: 2 }],
  resources: { cores: 1, memoryMb: 16 },
  limits: { fuel: '1000', timeoutMs: 5000, outputBytes: 100 },
  maxPricePerFuel: '7',
  verification: { mode: 'none' },
}

const dockerJob: DockerJobDescriptor = {
  name: 'd',
  runtime: 'docker',
  imageCid: 'bafkreiimage',
  command: ['/bin/sh', '-c', 'echo hi'],
  env: { LANG: 'C' },
  inputs: [{ path: 'in.txt', cid: 'input-cid', size: 2 }],
  output: 'stdout',
  resources: { cores: 2, memoryMb: 64 },
  limits: { fuel: '10000', timeoutMs: 5000, outputBytes: 100, pids: 32 },
  maxPricePerFuel: '7',
  verification: { mode: 'none' },
}

/** Content the fake requester serves, and what the runner asked for. */
function harness(containers?: ContainerRunner) {
  const content = new Map<string, Uint8Array>([
    ['module-cid', bytes('\0asm')],
    ['input-cid', bytes('hi')],
    ['bafkreiimage', bytes('rootfs tarball')],
  ])
  const fetched: string[] = []
  const stored = new Map<string, Uint8Array>()
  const wasmCalls: Parameters<WasmRunner['run']>[0][] = []
  let wasmOutcome: () => Promise<Awaited<ReturnType<WasmRunner['run']>>> = async () => ({
    stdout: bytes('wasm out'),
    exitCode: 0,
    fuelUsed: 123n,
  })
  const wasm: WasmRunner = {
    run: async (job) => {
      wasmCalls.push(job)
      return wasmOutcome()
    },
  }
  const runner = createJobRunner({ wasm, ...(containers ? { containers } : {}) })
  const request = (job: JobDescriptor) => ({
    jobId: '42',
    job,
    fetch: async (cid: string) => {
      fetched.push(cid)
      const found = content.get(cid)
      if (!found) throw new Error(`no ${cid}`)
      return found
    },
    store: {
      put: async (data: Uint8Array) => {
        const cid = await cidOf(data)
        stored.set(cid, data)
        return cid
      },
    },
  })
  return {
    runner,
    wasm,
    request,
    fetched,
    stored,
    wasmCalls,
    setWasm: (f: typeof wasmOutcome) => {
      wasmOutcome = f
    },
  }
}

/** A fake Docker: records imports and runs, answers with `outcome`. */
function fakeDocker(outcome: (job: ContainerJob) => Promise<ContainerResult>) {
  const images = new Map<string, string>()
  const imports: string[] = []
  const runs: ContainerJob[] = []
  const docker: ContainerRunner = {
    imageId: async (reference) => images.get(reference),
    importRootfs: async (_tarball, reference) => {
      imports.push(reference)
      images.set(reference, 'sha256:feed')
      return 'sha256:feed'
    },
    run: async (job) => {
      runs.push(job)
      return outcome(job)
    },
  }
  return { docker, imports, runs }
}

const containerResult = (over: Partial<ContainerResult> = {}): ContainerResult => ({
  exitCode: 0,
  stdout: bytes('container out'),
  stderr: new Uint8Array(),
  outputs: [],
  durationMs: 250.2,
  ...over,
})

describe('job runner', () => {
  it('runs a wasm job on the wasm executor with the descriptor limits and seeds it by job id', async () => {
    const h = harness()
    const receipt = await h.runner.runJob(h.request(wasmJob))
    assert.equal(receipt.status, 'ok')
    assert.equal(receipt.fuelUsed, '123')
    assert.ok(receipt.status === 'ok' && h.stored.get(receipt.outputCid))
    const call = h.wasmCalls[0]!
    assert.equal(call.moduleKey, 'module-cid')
    assert.deepEqual(call.args, ['a'])
    assert.deepEqual(call.limits, { fuel: 1000n, memoryMb: 16, timeoutMs: 5000, outputBytes: 100 })
    assert.equal(call.seed, '42')
    assert.deepEqual(h.fetched, ['module-cid', 'input-cid'])
  })

  it('bills a wasm job that runs out of fuel its whole limit', async () => {
    const h = harness()
    h.setWasm(async () => {
      throw new OutOfFuelError(1000n)
    })
    const receipt = await h.runner.runJob(h.request(wasmJob))
    assert.equal(receipt.status, 'error')
    assert.ok(receipt.status === 'error' && receipt.errorCode === 'E_OUT_OF_FUEL')
    assert.equal(receipt.fuelUsed, '1000')
  })

  it('a plain WasmRunner still runs wasm jobs through runJob', async () => {
    const h = harness()
    const receipt = await runJob(h.wasm, h.request(wasmJob))
    assert.equal(receipt.status, 'ok')
    assert.equal(h.wasmCalls.length, 1)
  })

  it('sends a docker job to the container executor: image imported once, fuel = core-ms', async () => {
    const fake = fakeDocker(async () => containerResult())
    const h = harness(fake.docker)
    assert.deepEqual(h.runner.runtimes, ['wasm', 'docker'])
    const first = await h.runner.runJob(h.request(dockerJob))
    const second = await h.runner.runJob(h.request(dockerJob))
    assert.equal(h.wasmCalls.length, 0, 'the wasm executor never sees a container job')
    assert.equal(first.status, 'ok')
    // ceil(250.2 ms) x 2 cores
    assert.equal(first.fuelUsed, '502')
    assert.deepEqual(second, first)
    assert.deepEqual(fake.imports, [imageReference('bafkreiimage')], 'imported once, tagged by CID')
    assert.equal(h.fetched.filter((cid) => cid === 'bafkreiimage').length, 1, 'tarball fetched once')
    const run = fake.runs[0]!
    assert.equal(run.image, 'sha256:feed')
    assert.deepEqual(run.command, dockerJob.command)
    assert.deepEqual(run.limits, { memoryMb: 64, cpus: 2, pids: 32, timeoutMs: 5000, outputBytes: 100 })
    assert.deepEqual(run.inputs, [{ path: 'in.txt', bytes: bytes('hi') }])
    assert.ok(
      first.status === 'ok' && new TextDecoder().decode(h.stored.get(first.outputCid)) === 'container out',
    )
  })

  it('takes a docker job output from a file under /output when the spec says so', async () => {
    const file = { path: 'out/result.txt', cid: 'x', bytes: bytes('from file') }
    const fake = fakeDocker(async () => containerResult({ outputs: [file] }))
    const h = harness(fake.docker)
    const ok = await h.runner.runJob(h.request({ ...dockerJob, output: { file: 'out/result.txt' } }))
    assert.ok(ok.status === 'ok')
    assert.equal(new TextDecoder().decode(h.stored.get(ok.outputCid)), 'from file')
    const missing = await h.runner.runJob(h.request({ ...dockerJob, output: { file: 'nope.txt' } }))
    assert.ok(missing.status === 'error' && missing.errorCode === 'E_NOT_FOUND')
    assert.equal(missing.fuelUsed, '502', 'the run is still billed')
  })

  it('bills a docker timeout its whole limit, a memory kill its time, and caps at the limit', async () => {
    const timeout = harness(
      fakeDocker(async () => {
        throw new TimeoutError(5000, 'run')
      }).docker,
    )
    const t = await timeout.runner.runJob(timeout.request(dockerJob))
    assert.ok(t.status === 'error' && t.errorCode === 'E_TIMEOUT')
    assert.equal(t.fuelUsed, '10000')

    const oom = harness(
      fakeDocker(async () => {
        throw new MemoryLimitError('killed', 64, undefined, { details: { durationMs: 99.5 } })
      }).docker,
    )
    const m = await oom.runner.runJob(oom.request(dockerJob))
    assert.ok(m.status === 'error' && m.errorCode === 'E_MEMORY_LIMIT')
    assert.equal(m.fuelUsed, '200')

    const slow = harness(fakeDocker(async () => containerResult({ durationMs: 9_999_999 })).docker)
    assert.equal((await slow.runner.runJob(slow.request(dockerJob))).fuelUsed, '10000')
  })

  it('a docker job on a provider without Docker, or with unreachable content, bills nothing', async () => {
    const h = harness()
    assert.deepEqual(h.runner.runtimes, ['wasm'])
    const noDocker = await h.runner.runJob(h.request(dockerJob))
    assert.ok(noDocker.status === 'error')
    assert.equal(noDocker.fuelUsed, '0')
    assert.match(noDocker.errorMessage, /no Docker daemon/)

    const fake = fakeDocker(async () => containerResult())
    const g = harness(fake.docker)
    const gone = await g.runner.runJob(g.request({ ...dockerJob, imageCid: 'bafkreimissing' }))
    assert.ok(gone.status === 'error')
    assert.equal(gone.fuelUsed, '0')
    assert.equal(fake.runs.length, 0)
  })

  it('a tarball the daemon cannot import is the requester’s E_INVALID_MODULE, billed nothing', async () => {
    const fake = fakeDocker(async () => containerResult())
    fake.docker.importRootfs = async () => {
      throw new Error('archive/tar: invalid tar header')
    }
    const h = harness(fake.docker)
    const receipt = await h.runner.runJob(h.request(dockerJob))
    assert.ok(receipt.status === 'error' && receipt.errorCode === 'E_INVALID_MODULE')
    assert.equal(receipt.fuelUsed, '0')
  })
})

describe('replicated jobs: receipts comparable across replicas', () => {
  const replicated: WasmJobDescriptor = {
    ...wasmJob,
    verification: { mode: 'replicated', k: 2, nonce: `0x${'11'.repeat(32)}` },
  }

  it('seeds with the spec hash and names it in the receipt, so two replicas (two job ids) agree', async () => {
    const { runner, request, wasmCalls } = harness()
    const first = await runner.runJob({ ...request(replicated), jobId: '1' })
    const second = await runner.runJob({ ...request(replicated), jobId: '2' })
    const specHash = hashJobDescriptor(replicated)
    assert.deepEqual(first, second)
    assert.ok(first.version === 2)
    assert.equal(first.specHash, specHash)
    assert.deepEqual(encodeReceipt(first), encodeReceipt(second))
    assert.deepEqual(
      wasmCalls.map((c) => c.seed),
      [specHash, specHash],
    )
    assert.deepEqual(receiptSubject('9', replicated), { version: 2, specHash, seed: specHash })
  })

  it('an error receipt of a replicated job names the spec hash too', async () => {
    const { runner, request, setWasm } = harness()
    setWasm(async () => {
      throw new OutOfFuelError(1000n)
    })
    const receipt = await runner.runJob({ ...request(replicated), jobId: '5' })
    assert.equal(receipt.status, 'error')
    assert.ok(receipt.version === 2 && receipt.specHash === hashJobDescriptor(replicated))
  })

  it('other modes keep the job id as receipt subject and seed', async () => {
    const { runner, request, wasmCalls } = harness()
    const receipt = await runner.runJob({ ...request(wasmJob), jobId: '77' })
    assert.ok(receipt.version === 1 && receipt.jobId === '77')
    assert.equal(wasmCalls[0]?.seed, '77')
    const other = await runner.runJob({ ...request(wasmJob), jobId: '78' })
    assert.notDeepEqual(encodeReceipt(receipt), encodeReceipt(other))
  })
})
