import assert from 'node:assert/strict'
import { closeSync, openSync } from 'node:fs'
import { test } from 'node:test'
import { createExecutor } from './executor.ts'
import { runSandboxJob, type SandboxMessage } from './sandbox-worker.ts'
import { job, watProgram } from './test-fixtures.ts'

test("a failure of the sandbox itself is reported as the executor's fault, and the worker replaced", async () => {
  // The job directory the executor should have made is missing: not the job's fault.
  const stdio = { read: openSync('/dev/null', 'r'), write: openSync('/dev/null', 'w') }
  const messages: SandboxMessage[] = []
  try {
    await runSandboxJob(
      {
        id: 1,
        jobDir: '/nonexistent/bazaar-job',
        module: new WebAssembly.Module(watProgram('', null) as Uint8Array<ArrayBuffer>),
        memoryMaxPages: 16,
        args: [],
        env: {},
        inputs: [],
        fuel: 1000n,
        outputBytes: 100,
        seed: '',
        stdio,
      },
      (message) => messages.push(message),
    )
  } finally {
    closeSync(stdio.read)
    closeSync(stdio.write)
  }
  const last = messages.at(-1)
  assert.ok(last && last.type === 'failed')
  assert.equal(last.kind, 'internal')
  assert.equal(last.recycle, true)
})

test('close() aborts running and queued jobs; SandboxError carries E_INTERNAL and a hint', async () => {
  const executor = createExecutor({ workers: 1 })
  const spin = watProgram('(loop $l (br $l))', null)
  const limits = { fuel: 2n ** 62n, memoryMb: 16, timeoutMs: 60_000, outputBytes: 100 }
  const running = executor.run(job(spin, { limits })).catch((e) => e)
  const queued = executor.run(job(spin, { limits })).catch((e) => e)
  await new Promise((resolve) => setTimeout(resolve, 200))
  await executor.close()
  assert.equal((await running).name, 'AbortedError')
  assert.equal((await queued).name, 'AbortedError')
  const { SandboxError } = await import('./errors.ts')
  const err = new SandboxError('the sandbox worker crashed')
  assert.equal(err.code, 'E_INTERNAL')
  assert.match(err.hint ?? '', /not in the job/)
})
