import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { cidOf } from '@bazaar/protocol'
import { type ContainerJob, createDockerExecutor } from './docker-executor.ts'
import { BUSYBOX, busyboxRootfs, dockerUnavailable } from './docker-test-fixtures.ts'

/**
 * Integration test against a real Docker daemon (.ci/run installs and starts one). When no
 * daemon answers, or there is no static busybox to build the test image from, every test
 * here is reported as SKIPPED with the reason: never as passed.
 */

const executor = createDockerExecutor()
const unavailable = await dockerUnavailable(() => executor.ping())
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('docker executor', () => {
  let image = ''
  const job = (script: string, overrides: Partial<ContainerJob> = {}): ContainerJob => ({
    image,
    command: [BUSYBOX, 'sh', '-c', script],
    env: { LANG: 'C' },
    inputs: [],
    limits: { memoryMb: 64, cpus: 1, pids: 32, timeoutMs: 20_000, outputBytes: 1 << 20 },
    ...overrides,
  })

  before(async () => {
    if (unavailable) return
    image = await executor.importRootfs(await busyboxRootfs(), 'bazaar-test/busybox:1')
  })
  after(() => executor.close())

  test('runs a command: stdout, exit code, inputs read-only, outputs content-addressed', async (t) => {
    if (unavailable) return t.skip(unavailable)
    assert.match(image, /^sha256:[0-9a-f]{64}$/)
    const result = await executor.run(
      job(
        'cat /input/a.txt; busybox wc -c < /input/b.bin > /output/size; echo hi > /output/greeting; ' +
          'busybox mkdir /output/sub && echo deep > /output/sub/x; ' +
          // Planted links and special files are not outputs (read from the host they could leak).
          'busybox ln -s /etc/hostname /output/link; busybox ln -s / /output/root; busybox mkfifo /output/fifo; exit 3',
        {
          inputs: [
            { path: 'a.txt', bytes: new TextEncoder().encode('hello from input\n') },
            { path: 'b.bin', bytes: new Uint8Array(1000) },
          ],
        },
      ),
    )
    assert.equal(result.exitCode, 3)
    assert.equal(text(result.stdout), 'hello from input\n')
    assert.deepEqual(
      result.outputs.map((o) => [o.path, text(o.bytes)]),
      [
        ['greeting', 'hi\n'],
        ['size', '1000\n'],
        ['sub/x', 'deep\n'],
      ],
    )
    for (const output of result.outputs) assert.equal(output.cid, await cidOf(output.bytes))
  })

  test('the sandbox: no network, read-only root and inputs, nobody, no capabilities, exact env', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const result = await executor.run(
      job(
        'busybox ls /sys/class/net; busybox id -u; busybox grep CapEff /proc/self/status; ' +
          'busybox touch /etc-file 2>/dev/null && echo root-writable; ' +
          'echo x >> /input/a.txt 2>/dev/null && echo input-writable; ' +
          'busybox touch /input/new 2>/dev/null && echo input-dir-writable; ' +
          'busybox env | busybox sort',
        { env: { LANG: 'C', JOB: 'j1' }, inputs: [{ path: 'a.txt', bytes: new Uint8Array([1]) }] },
      ),
    )
    const lines = text(result.stdout).trim().split('\n')
    assert.equal(lines[0], 'lo', 'only the loopback interface')
    assert.equal(lines[1], '65534')
    assert.match(lines[2] ?? '', /^CapEff:\s+0+$/)
    assert.ok(!lines.includes('root-writable'))
    assert.ok(!lines.includes('input-writable'))
    assert.ok(!lines.includes('input-dir-writable'))
    const env = lines.slice(3).filter((line) => !line.startsWith('PWD=') && !line.startsWith('SHLVL='))
    assert.deepEqual(
      env.filter((line) => !line.startsWith('PATH=') && !line.startsWith('HOME=')),
      ['HOSTNAME=sandbox', 'JOB=j1', 'LANG=C'],
      'the host environment does not leak in',
    )
  })

  test('network access fails', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const result = await executor.run(
      job('busybox wget -q -T 2 -O - http://1.1.1.1/ 2>&1; echo "exit=$?"', {}),
    )
    assert.match(text(result.stdout), /exit=[1-9]/)
  })

  test('passing the memory limit is MemoryLimitError', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const err = await executor
      .run(
        job('x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done', {
          limits: { ...job('').limits, memoryMb: 16 },
        }),
      )
      .catch((e) => e)
    assert.equal(err.name, 'MemoryLimitError')
    assert.equal(err.code, 'E_MEMORY_LIMIT')
    assert.ok(err.hint)
  })

  test('the pids limit stops a fork bomb', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const result = await executor.run(
      job('for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do busybox sleep 2 & done; wait; echo done', {
        limits: { ...job('').limits, pids: 6 },
      }),
    )
    assert.match(text(result.stderr), /fork|Resource temporarily unavailable/i)
  })

  test('running past the wall-clock limit is TimeoutError', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const err = await executor
      .run(job('busybox sleep 30', { limits: { ...job('').limits, timeoutMs: 500 } }))
      .catch((e) => e)
    assert.equal(err.name, 'TimeoutError')
    assert.equal(err.code, 'E_TIMEOUT')
  })

  test('too much stdout or too many output bytes is OutputTooLargeError', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const limits = { ...job('').limits, outputBytes: 10_000 }
    const loud = await executor.run(job('busybox yes', { limits })).catch((e) => e)
    assert.equal(loud.name, 'OutputTooLargeError')
    assert.equal(loud.details.stream, 'stdout')
    const big = await executor
      .run(job('busybox head -c 20000 /dev/zero > /output/big; echo $?', { limits }))
      .catch((e) => e)
    assert.equal(big.name, 'OutputTooLargeError')
    assert.equal(big.details.stream, 'output')
  })

  test('an aborted job is AbortedError', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const controller = new AbortController()
    const running = executor.run(job('busybox sleep 30'), { signal: controller.signal })
    setTimeout(() => controller.abort(), 300)
    const err = await running.catch((e) => e)
    assert.equal(err.name, 'AbortedError')
  })

  test('a job aborted while its container is being created is AbortedError at once', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const controller = new AbortController()
    // run() is past its synchronous checks when this returns: the abort lands while the image is
    // inspected or the container created, before anything could listen on the container.
    const running = executor.run(job('busybox sleep 30'), { signal: controller.signal })
    controller.abort()
    const err = await running.catch((e) => e)
    assert.equal(err.name, 'AbortedError')
    assert.match(err.message, /before/)
  })

  test('a missing image is InvalidModuleError; a malformed job is InvalidJobError', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const missing = await executor
      .run(job('true', { image: 'sha256:0000000000000000000000000000000000000000000000000000000000000000' }))
      .catch((e) => e)
    assert.equal(missing.name, 'InvalidModuleError')
    assert.match(missing.hint, /not pulled/)
    const bad = await executor
      .run(job('true', { inputs: [{ path: '../etc/passwd', bytes: new Uint8Array() }] }))
      .catch((e) => e)
    assert.equal(bad.name, 'InvalidJobError')
  })
})
