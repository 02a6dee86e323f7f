/**
 * Crash recovery (docs/reliability.md), the "kill -9": a provider node and a requester
 * node as separate processes with their own data dirs, both SIGKILLed after the provider
 * committed its result and before it revealed (a test-only pause holds it in that gap), then
 * started again on the same data dirs. The provider reveals with the salt it saved, the
 * requester finds the job it was waiting on, verifies, finalizes, and the balances are exact.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const bin = resolve(root, 'packages/cli/src/bin.ts')
const wordcountSpec = resolve(root, 'examples/specs/wordcount.yaml')
const PASSWORD = 'correct horse battery staple'

const children = new Set<ChildProcess>()

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env }
  for (const key of Object.keys(base)) if (key.startsWith('BAZAAR_')) delete base[key]
  return { ...base, BAZAAR_PASSWORD: PASSWORD, ...extra }
}

async function bazaarJson<T>(args: string[]): Promise<T> {
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args, '--json'], { cwd: root, env: env() })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', fail)
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(child)
      done({ code, stdout, stderr })
    })
  })
  assert.equal(run.code, 0, `bazaar ${args.join(' ')} failed:\n${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

/** Starts a long-running bazaar command and resolves with the first JSON line it prints. */
function startJson<T>(
  args: string[],
  what: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; ready: T; logs: () => string }> {
  const child = spawn(process.execPath, [bin, ...args, '--json'], { cwd: root, env: env(extraEnv) })
  children.add(child)
  child.on('exit', () => children.delete(child))
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  return new Promise((found, fail) => {
    let seen = ''
    const timer = setTimeout(
      () => fail(new Error(`${what} not ready after 90 s:\n${seen}\n${stderr}`)),
      90_000,
    )
    child.stdout!.on('data', (d) => {
      seen += d
      const line = seen.split('\n').find((l) => l.startsWith('{'))
      if (line && seen.includes('\n')) {
        clearTimeout(timer)
        found({ child, ready: JSON.parse(line) as T, logs: () => stderr })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`${what} exited with ${code}:\n${seen}\n${stderr}`))
    })
  })
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`${url}: ${res.status}`)
  return (await res.json()) as T
}

interface NodeReady {
  address: string
  multiaddrs: string[]
  api: string
}
interface Balance {
  tokens: string
  staked: string
}
interface ApiJob {
  id: string
  state: string
  paid?: string
  fuelUsed?: string
  pricePerFuel?: string
  escrow?: string
  refunded?: string
  provider?: string
}

describe('crash recovery: provider and requester killed with SIGKILL between commit and reveal, or the requester gone for good', () => {
  let dir: string
  let devnetChild: ChildProcess
  let chainArgs: string[]
  let provider: { address: string; keystore: string }
  let requester: { address: string; keystore: string }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-crash-'))
    const started = await startJson<{ rpcUrl: string; deploymentFile: string }>(
      ['devnet', '--port', '0', '--deployment', join(dir, 'deployment.json')],
      'devnet',
    )
    devnetChild = started.child
    chainArgs = ['--rpc-url', started.ready.rpcUrl, '--deployment', started.ready.deploymentFile]
    ;[provider, requester] = (await Promise.all(
      ['provider', 'requester'].map((who) =>
        bazaarJson<{ address: string; keystore: string }>([
          'wallet',
          'new',
          '--keystore',
          join(dir, `${who}.json`),
        ]),
      ),
    )) as [typeof provider, typeof requester]
    await bazaarJson(['devnet', 'fund', provider.address, requester.address, '--tokens', '500', ...chainArgs])
    await bazaarJson(['provider', 'stake', '50', '--keystore', provider.keystore, ...chainArgs])
  })

  after(async () => {
    await Promise.all([...children].filter((c) => c !== devnetChild).map(stopChild))
    if (devnetChild) await stopChild(devnetChild)
    await rm(dir, { recursive: true, force: true })
  })

  const startProvider = (
    extraEnv: Record<string, string> = {},
    life = 'provider-data',
    extraArgs: string[] = [],
  ) =>
    startJson<NodeReady>(
      [
        'node',
        'start',
        '--role',
        'provider',
        '--keystore',
        provider.keystore,
        ...chainArgs,
        '--api-port',
        '0',
        '--data-dir',
        join(dir, life),
        ...extraArgs,
        '--cores',
        '1',
        '--price',
        '1000000000',
        '--log-level',
        'info',
      ],
      'provider node',
      extraEnv,
    )
  const startRequester = (bootstrap: string, life = 'requester-data') =>
    startJson<NodeReady>(
      [
        'node',
        'start',
        '--role',
        'requester',
        '--keystore',
        requester.keystore,
        ...chainArgs,
        '--api-port',
        '0',
        '--data-dir',
        join(dir, life),
        '--bootstrap',
        bootstrap,
        '--log-level',
        'info',
      ],
      'requester node',
    )
  const balance = (address: string) => bazaarJson<Balance>(['wallet', 'balance', address, ...chainArgs])

  it('both nodes resume from their data dirs: the saved salt is revealed, the job finalized, balances exact', async () => {
    // Held between commit and reveal for longer than the test: only a restart reveals.
    const p1 = await startProvider({ BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS: '600000' })
    const r1 = await startRequester(p1.ready.multiaddrs[0]!)
    await waitFor('the provider offer at the requester', async () => {
      const { offers } = await getJson<{ offers: { provider: string }[] }>(`${r1.ready.api}/v1/market/offers`)
      return offers.some((o) => o.provider === provider.address) ? true : undefined
    })
    const providerBefore = await balance(provider.address)
    const requesterBefore = await balance(requester.address)

    const submitted = await bazaarJson<{ id: string }>([
      'job',
      'run',
      wordcountSpec,
      '--api',
      r1.ready.api,
      '--detach',
    ])
    const id = submitted.id
    await waitFor('the provider to commit', async () => {
      const { jobs } = await getJson<{ jobs: { jobId: string; phase: string }[] }>(
        `${p1.ready.api}/v1/provider/jobs`,
      )
      return jobs.find((j) => j.jobId === id && j.phase === 'committed')
    })
    const beforeKill = await getJson<{ events: { type: string }[] }>(`${r1.ready.api}/v1/jobs/${id}/logs`)
    assert.ok(beforeKill.events.some((e) => e.type === 'awarded'))
    assert.ok(!beforeKill.events.some((e) => e.type === 'revealed'), 'killed before the reveal')
    await Promise.all([kill9(p1.child), kill9(r1.child)])

    // Same data dirs, no pause: the provider reveals what it committed, with its saved salt.
    const p2 = await startProvider()
    const r2 = await startRequester(p2.ready.multiaddrs[0]!)
    const job = await waitFor(
      'the resumed job to end',
      async () => {
        const view = await getJson<ApiJob>(`${r2.ready.api}/v1/jobs/${id}`)
        return view.state === 'running' ? undefined : view
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nrequester log:\n${r2.logs()}\nprovider log:\n${p2.logs()}`)
    })
    assert.equal(job.state, 'completed', `${JSON.stringify(job)}\nrequester log:\n${r2.logs()}`)
    assert.equal(job.provider, provider.address)
    const paid = BigInt(job.paid!)
    assert.ok(paid > 0n)
    assert.equal(paid, BigInt(job.fuelUsed!) * BigInt(job.pricePerFuel!))
    assert.equal(BigInt(job.refunded!), BigInt(job.escrow!) - paid)

    // The timeline spans both lives of the requester: the events before the kill, then the rest.
    const logs = await getJson<{ events: { type: string }[] }>(`${r2.ready.api}/v1/jobs/${id}/logs`)
    const types = logs.events.map((e) => e.type)
    assert.deepEqual(
      types.filter((t) => ['created', 'awarded', 'revealed', 'verified', 'finalized'].includes(t)),
      ['created', 'awarded', 'revealed', 'verified', 'finalized'],
    )
    const output = await fetch(`${r2.ready.api}/v1/jobs/${id}/output`)
    assert.equal(output.status, 200)
    assert.match(await output.text(), /"words":/)

    const providerAfter = await balance(provider.address)
    const requesterAfter = await balance(requester.address)
    assert.equal(BigInt(providerAfter.tokens) - BigInt(providerBefore.tokens), paid)
    assert.equal(providerAfter.staked, providerBefore.staked, 'collateral unlocked, nothing slashed')
    assert.equal(BigInt(requesterBefore.tokens) - BigInt(requesterAfter.tokens), paid)

    const { jobs } = await getJson<{ jobs: { jobId: string; phase: string }[] }>(
      `${p2.ready.api}/v1/provider/jobs`,
    )
    // Revealed, or already seen finalized by the provider's payment collector.
    assert.ok(['revealed', 'finalized'].includes(jobs.find((j) => j.jobId === id)?.phase ?? ''))
  })
  it('a requester that vanishes after the award still pays: the provider finalizes after the challenge window', async () => {
    // The provider checks every second and gives the requester no grace past the window.
    const config = join(dir, 'collect.yaml')
    await writeFile(config, 'provider:\n  collect: { intervalSeconds: 1, graceSeconds: 0 }\n')
    const p = await startProvider({ BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS: '2000' }, 'provider-data-2', [
      '--config',
      config,
    ])
    const r = await startRequester(p.ready.multiaddrs[0]!, 'requester-data-2')
    await waitFor('the provider offer at the requester', async () => {
      const { offers } = await getJson<{ offers: { provider: string }[] }>(`${r.ready.api}/v1/market/offers`)
      return offers.some((o) => o.provider === provider.address) ? true : undefined
    })
    const providerBefore = await balance(provider.address)
    const requesterBefore = await balance(requester.address)
    const { id } = await bazaarJson<{ id: string }>([
      'job',
      'run',
      wordcountSpec,
      '--api',
      r.ready.api,
      '--detach',
    ])
    await waitFor('the provider to commit', async () => {
      const { jobs } = await getJson<{ jobs: { jobId: string; phase: string }[] }>(
        `${p.ready.api}/v1/provider/jobs`,
      )
      return jobs.find((j) => j.jobId === id && j.phase === 'committed')
    })
    // Gone for good before the reveal: nobody is left to verify or finalize but the provider.
    await kill9(r.child)

    const paidJob = await waitFor(
      'the provider to finalize the job itself',
      async () => {
        const { jobs } = await getJson<{
          jobs: { jobId: string; phase: string; fuelUsed?: string; pricePerFuel?: string }[]
        }>(`${p.ready.api}/v1/provider/jobs`)
        return jobs.find((j) => j.jobId === id && j.phase === 'finalized')
      },
      150_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nprovider log:\n${p.logs()}`)
    })
    const paid = BigInt(paidJob.fuelUsed!) * BigInt(paidJob.pricePerFuel!)
    assert.ok(paid > 0n)
    const providerAfter = await balance(provider.address)
    const requesterAfter = await balance(requester.address)
    // The provider paid the finalize's gas in ETH, not in tokens: its token balance rises by the payment.
    assert.equal(BigInt(providerAfter.tokens) - BigInt(providerBefore.tokens), paid)
    assert.equal(providerAfter.staked, providerBefore.staked, 'collateral unlocked, nothing slashed')
    assert.equal(
      BigInt(requesterBefore.tokens) - BigInt(requesterAfter.tokens),
      paid,
      'the rest of the escrow refunded',
    )
    assert.match(p.logs(), /finalized a job its requester left unsettled/)
  })
})
