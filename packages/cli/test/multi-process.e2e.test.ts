/**
 * The multi-process shape a user runs: `bazaar devnet` as its own process, keystores made with
 * `bazaar wallet new`, funded by the devnet faucet, a stake with `bazaar provider stake`, then a
 * provider node and a requester node as separate processes, bootstrapped to each other, and
 * `bazaar job run` against the requester's API. Also the inputs a user gets wrong.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { referenceWordcount } from '@bazaar/executor/test-fixtures'
import { createBazaarClient } from '@bazaar/sdk'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const bin = resolve(root, 'packages/cli/src/bin.ts')
const wordcountSpec = resolve(root, 'examples/specs/wordcount.yaml')
const PASSWORD = 'correct horse battery staple'

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const children = new Set<ChildProcess>()

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env }
  for (const key of Object.keys(base)) if (key.startsWith('BAZAAR_')) delete base[key]
  return { ...base, BAZAAR_PASSWORD: PASSWORD, ...extra }
}

/** Runs a bazaar command to its end; killed (and reported as a hang) after `timeoutMs`. */
function bazaar(args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: env(extraEnv) })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', fail)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      done({ code, signal, stdout, stderr })
    })
  })
}

/** Runs a command that must succeed with --json, and returns its parsed stdout. */
async function bazaarJson<T>(args: string[], extraEnv: Record<string, string> = {}): Promise<T> {
  const run = await bazaar([...args, '--json'], extraEnv)
  assert.equal(run.code, 0, `bazaar ${args.join(' ')} failed:\n${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

/** Starts a long-running bazaar command and resolves with the first JSON line it prints. */
function startJson<T>(
  args: string[],
  what: string,
): Promise<{ child: ChildProcess; ready: T; logs: () => string }> {
  const child = spawn(process.execPath, [bin, ...args, '--json'], { cwd: root, env: env() })
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  await new Promise((r) => server.close(r))
  return port
}

interface DevnetReady {
  rpcUrl: string
  deploymentFile: string
  chainId: number
}
interface NodeReady {
  address: string
  peerId: string
  multiaddrs: string[]
  api: string
  stake?: { eligible: boolean }
}
interface Balance {
  tokens: string
  native: string
  staked: string
}

describe('devnet, wallets, provider and requester as separate processes', () => {
  let dir: string
  let devnet: DevnetReady
  let devnetChild: ChildProcess
  const nodes: ChildProcess[] = []
  let chainArgs: string[]
  let provider: { address: string; keystore: string; node?: NodeReady }
  let requester: { address: string; keystore: string; node?: NodeReady }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-multi-'))
    const started = await startJson<DevnetReady>(
      ['devnet', '--port', '0', '--deployment', join(dir, 'deployment.json')],
      'devnet',
    )
    devnet = started.ready
    devnetChild = started.child
    chainArgs = ['--rpc-url', devnet.rpcUrl, '--deployment', devnet.deploymentFile]
    const [p, r] = await Promise.all([
      bazaarJson<{ address: string; keystore: string }>([
        'wallet',
        'new',
        '--keystore',
        join(dir, 'provider.json'),
      ]),
      bazaarJson<{ address: string; keystore: string }>([
        'wallet',
        'new',
        '--keystore',
        join(dir, 'requester.json'),
      ]),
    ])
    provider = p
    requester = r
  })

  after(async () => {
    // Every child, even when a test failed half-way: nodes before the chain they use.
    await Promise.all([...children].filter((c) => c !== devnetChild).map(stopChild))
    if (devnetChild) await stopChild(devnetChild)
    await rm(dir, { recursive: true, force: true })
  })

  it('keystores hold the accounts they print, and a new wallet is empty', async () => {
    const shown = await bazaarJson<{ address: string }>([
      'wallet',
      'address',
      '--keystore',
      provider.keystore,
    ])
    assert.equal(shown.address, provider.address)
    const balance = await bazaarJson<Balance>([
      'wallet',
      'balance',
      '--keystore',
      provider.keystore,
      ...chainArgs,
    ])
    assert.equal(balance.tokens, '0')
    assert.equal(balance.native, '0')
    // Importing a known key (Hardhat test account 5) yields its well-known address.
    const imported = await bazaarJson<{ address: string }>(
      ['wallet', 'import', '--keystore', join(dir, 'imported.json')],
      {
        BAZAAR_PRIVATE_KEY: '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
      },
    )
    assert.equal(imported.address, '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc')
    const again = await bazaar(['wallet', 'new', '--keystore', provider.keystore])
    assert.equal(again.code, 5, 'never overwrites a keystore without --force')
    assert.match(again.stderr, /already exists/)
  })

  it('refuses to stake from an empty wallet, with exit code 6 and a faucet hint', async () => {
    const run = await bazaar(['provider', 'stake', '10', '--keystore', provider.keystore, ...chainArgs])
    assert.equal(run.code, 6, run.stderr)
    assert.match(run.stderr, /no native currency to pay gas/)
    assert.match(run.stderr, /bazaar devnet fund/)
  })

  it('funds both wallets from the devnet faucet and stakes the provider', async () => {
    const funded = await bazaarJson<{ funded: { address: string }[] }>([
      'devnet',
      'fund',
      provider.address,
      requester.address,
      '--tokens',
      '500',
      ...chainArgs,
    ])
    assert.deepEqual(
      funded.funded.map((f) => f.address),
      [provider.address, requester.address],
    )
    const tooMuch = await bazaar(['provider', 'stake', '501', '--keystore', provider.keystore, ...chainArgs])
    assert.equal(tooMuch.code, 6, tooMuch.stderr)
    assert.match(tooMuch.stderr, /less than the 501 BZR to stake/)

    await bazaarJson(['provider', 'stake', '50', '--keystore', provider.keystore, ...chainArgs])
    const status = await bazaarJson<{ staked: string; eligible: boolean; reputation: { completed: string } }>(
      ['provider', 'status', '--keystore', provider.keystore, ...chainArgs],
    )
    assert.equal(status.staked, (50n * 10n ** 18n).toString())
    assert.equal(status.eligible, true)
    assert.equal(status.reputation.completed, '0')
  })

  it('starts a provider and a requester node bootstrapped to each other', async () => {
    const p = await startJson<NodeReady>(
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
        join(dir, 'provider-data'),
        '--cores',
        '1',
        '--price',
        '1000000000',
        '--log-level',
        'warn',
      ],
      'provider node',
    )
    provider.node = p.ready
    nodes.push(p.child)
    assert.equal(p.ready.address, provider.address)
    assert.equal(p.ready.stake?.eligible, true)
    // The requester reads part of its settings from a config file; flags fill in the rest.
    const config = join(dir, 'requester.yaml')
    await writeFile(
      config,
      [
        'role: requester',
        `keystore: ${JSON.stringify(requester.keystore)}`,
        'requester:',
        // Many announcement rounds: the job no provider will take stays cancellable for long.
        '  maxAnnouncements: 60',
        'logLevel: warn',
      ].join('\n'),
    )
    const r = await startJson<NodeReady>(
      [
        'node',
        'start',
        '--config',
        config,
        ...chainArgs,
        '--api-port',
        '0',
        '--data-dir',
        join(dir, 'requester-data'),
        '--bootstrap',
        p.ready.multiaddrs[0]!,
      ],
      'requester node',
    )
    requester.node = r.ready
    nodes.push(r.child)
    assert.equal(r.ready.address, requester.address)
    const api = createBazaarClient({ url: r.ready.api })
    const offers = await waitFor('the provider offer at the requester', async () => {
      const { offers } = await api.offers()
      return offers.some((o) => o.provider === provider.address) ? offers : undefined
    })
    assert.equal(offers.find((o) => o.provider === provider.address)?.floorPricePerFuel, '1000000000')
    // The provider's own API knows it is not a requester.
    const refused = await fetch(`${p.ready.api}/v1/jobs`, { method: 'POST', body: '{}' })
    assert.equal(refused.status, 409)
  })

  it('runs a job: right output, and the provider is paid exactly what the job says', async () => {
    assert.ok(requester.node && provider.node, 'nodes started')
    const before = await bazaarJson<Balance>(['wallet', 'balance', provider.address, ...chainArgs])
    const out = join(dir, 'count.json')
    const run = await bazaar([
      'job',
      'run',
      wordcountSpec,
      '--api',
      requester.node.api,
      '--json',
      '--out',
      out,
    ])
    assert.equal(run.code, 0, run.stderr)
    const job = JSON.parse(run.stdout) as {
      id: string
      state: string
      provider: string
      paid: string
      fuelUsed: string
      pricePerFuel: string
    }
    assert.equal(job.state, 'completed')
    assert.equal(job.provider, provider.address)
    assert.equal(BigInt(job.paid), BigInt(job.fuelUsed) * BigInt(job.pricePerFuel))
    assert.ok(BigInt(job.paid) > 0n)
    const sample = await readFile(resolve(root, 'examples/data/sample.txt'), 'utf8')
    assert.equal(await readFile(out, 'utf8'), referenceWordcount([sample]))

    const afterRun = await bazaarJson<Balance>(['wallet', 'balance', provider.address, ...chainArgs])
    assert.equal(BigInt(afterRun.tokens) - BigInt(before.tokens), BigInt(job.paid))
    assert.equal(afterRun.staked, before.staked, 'collateral was unlocked again')

    const status = await bazaarJson<{ reputation: { completed: string } }>([
      'provider',
      'status',
      provider.address,
      ...chainArgs,
    ])
    assert.equal(status.reputation.completed, '1')

    const logs = await bazaar(['job', 'logs', job.id, '--api', requester.node.api, '--json'])
    assert.equal(logs.code, 0, logs.stderr)
    const types = logs.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type)
    assert.deepEqual(
      types.filter((t) => ['created', 'awarded', 'revealed', 'verified', 'finalized'].includes(t)),
      ['created', 'awarded', 'revealed', 'verified', 'finalized'],
    )
    const followed = await bazaar(['job', 'logs', job.id, '--follow', '--api', requester.node.api])
    assert.equal(followed.code, 0, followed.stderr)
    assert.match(followed.stdout, /finalized +paid /)
    assert.match(followed.stdout, new RegExp(`job ${job.id} ended: completed`))
    const late = await bazaar(['job', 'cancel', job.id, '--api', requester.node.api])
    assert.equal(late.code, 7, late.stderr)
    assert.match(late.stderr, /already ended/)

    // The requester's dashboard data shows the provider with its stake and reputation.
    const providers = await createBazaarClient({ url: requester.node.api }).providers()
    const seen = providers.find((p) => p.address === provider.address)
    assert.equal(seen?.stake, (50n * 10n ** 18n).toString())
    assert.equal(seen?.reputation?.completed, '1')
  })

  it('cancels a job nobody will take and refunds the whole escrow', async () => {
    assert.ok(requester.node, 'requester started')
    const before = await bazaarJson<Balance>(['wallet', 'balance', requester.address, ...chainArgs])
    const spec = (await readFile(wordcountSpec, 'utf8'))
      .replaceAll('../build/wordcount.wasm', resolve(root, 'examples/build/wordcount.wasm'))
      .replaceAll('../data/sample.txt', resolve(root, 'examples/data/sample.txt'))
      // Below the provider's floor of 1 gwei per fuel: it declines every round.
      .replace(/maxPerFuel: "\d+"/, 'maxPerFuel: "500000000"')
    const specFile = join(dir, 'too-cheap.yaml')
    await writeFile(specFile, spec)
    const submitted = await bazaar([
      'job',
      'run',
      specFile,
      '--api',
      requester.node.api,
      '--detach',
      '--json',
    ])
    assert.equal(submitted.code, 0, submitted.stderr)
    const { id } = JSON.parse(submitted.stdout) as { id: string }
    const cancel = await bazaar(['job', 'cancel', id, '--api', requester.node.api, '--json'])
    assert.equal(cancel.code, 0, cancel.stderr)
    const view = JSON.parse(cancel.stdout) as {
      state: string
      refunded: string
      escrow: string
      paid: string
    }
    assert.equal(view.state, 'refunded')
    assert.equal(view.refunded, view.escrow)
    assert.equal(view.paid, '0')
    const afterCancel = await bazaarJson<Balance>(['wallet', 'balance', requester.address, ...chainArgs])
    assert.equal(afterCancel.tokens, before.tokens)
    const logs = await createBazaarClient({ url: requester.node.api }).logs(id)
    assert.equal(logs.events.at(-1)?.type, 'refunded')
    assert.ok(
      logs.events.some((e) => e.type === 'declined'),
      'the provider said why it declined',
    )
  })

  it('stops a node cleanly on SIGTERM', async () => {
    const node = nodes.at(-1)
    assert.ok(node && node.exitCode === null, 'the requester node is running')
    const exited = new Promise<number | null>((r) => node.once('exit', (code) => r(code)))
    node.kill('SIGTERM')
    assert.equal(await exited, 0)
  })

  it('manages the vault escrow by hand: deposit, assign, thaw, withdraw after the delay, signing keys', async () => {
    const BZR = 10n ** 18n
    const args = ['--keystore', requester.keystore, ...chainArgs]
    interface VaultStatus {
      unassigned: { balance: string; thaw: { amount: string; readyAt: string } | null }
      channels: { provider: string; balance: string }[]
      signers: { signer: string; live: boolean; revokedAt?: string }[]
      delays: { thawDelay: string; signerRevokeDelay: string }
    }
    const status = () => bazaarJson<VaultStatus>(['vault', 'status', ...args])
    const wallet = async () => BigInt((await bazaarJson<Balance>(['wallet', 'balance', ...args])).tokens)
    /** Moves the devnet's clock (the thaw and revocation delays are a day). */
    const advance = async (seconds: bigint) => {
      for (const [method, params] of [
        ['evm_increaseTime', [Number(seconds)]],
        ['evm_mine', []],
      ] as const) {
        const response = await fetch(devnet.rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        })
        assert.equal(response.status, 200)
      }
    }

    const before = await wallet()
    await bazaarJson(['vault', 'deposit', '20', ...args])
    await bazaarJson(['vault', 'assign', '5', '--provider', provider.address, ...args])
    let s = await status()
    assert.equal(s.unassigned.balance, (15n * BZR).toString())
    assert.deepEqual(
      s.channels.map((c) => [c.provider, c.balance]),
      [[provider.address, (5n * BZR).toString()]],
    )
    assert.equal(await wallet(), before - 20n * BZR)

    const tooMuch = await bazaar(['vault', 'thaw', '16', ...args])
    assert.equal(tooMuch.code, 6, tooMuch.stderr)
    assert.match(tooMuch.stderr, /holds 15 BZR, less than the 16 BZR to thaw/)
    const nothingThawing = await bazaar(['vault', 'withdraw', ...args])
    assert.equal(nothingThawing.code, 7, nothingThawing.stderr) // NotNowError: not at this moment
    assert.match(nothingThawing.stderr, /hint: announce it first/)

    await bazaarJson(['vault', 'thaw', '10', ...args])
    s = await status()
    assert.equal(s.unassigned.thaw?.amount, (10n * BZR).toString())
    const early = await bazaar(['vault', 'withdraw', ...args])
    assert.equal(early.code, 7, early.stderr) // NotNowError: not at this moment
    assert.match(early.stderr, /is thawing until/)
    await advance(BigInt(s.delays.thawDelay))
    const withdrawn = await bazaarJson<{ withdrawn: string }>(['vault', 'withdraw', ...args])
    assert.equal(withdrawn.withdrawn, (10n * BZR).toString())
    s = await status()
    assert.equal(s.unassigned.balance, (5n * BZR).toString())
    assert.equal(s.unassigned.thaw, null)
    assert.equal(await wallet(), before - 10n * BZR, 'exactly the thawed amount came back')

    // A signing key: live at once, still live through the revocation delay, then refused.
    const key = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'
    await bazaarJson(['vault', 'authorize-signer', key.toLowerCase(), ...args])
    assert.deepEqual((await status()).signers, [{ signer: key, live: true }])
    const revoked = await bazaarJson<{ effectiveAt: string }>(['vault', 'revoke-signer', key, ...args])
    assert.deepEqual((await status()).signers, [{ signer: key, live: true, revokedAt: revoked.effectiveAt }])
    await advance(BigInt(s.delays.signerRevokeDelay))
    assert.equal((await status()).signers[0]?.live, false)
    const again = await bazaar(['vault', 'revoke-signer', key, ...args])
    assert.equal(again.code, 7, again.stderr) // NotNowError: not at this moment
    assert.match(again.stderr, /is not a live signing key/)
    const garbage = await bazaar(['vault', 'deposit', '1', '--provider', 'not-an-address', ...args])
    assert.equal(garbage.code, 2, garbage.stderr)
    assert.match(garbage.stderr, /must be a 0x address/)
  })

  describe('bad inputs fail fast with a clear error and exit code', () => {
    const nodeArgs = (extra: string[]) => ['node', 'start', '--role', 'provider', '--api-port', '0', ...extra]

    it('wrong keystore password: exit 5', async () => {
      const run = await bazaar(
        nodeArgs(['--keystore', provider.keystore, ...chainArgs, '--data-dir', join(dir, 'bad-1')]),
        { BAZAAR_PASSWORD: 'not the password' },
        30_000,
      )
      assert.equal(run.signal, null, 'did not hang')
      assert.equal(run.code, 5, run.stderr)
      assert.match(run.stderr, /could not decrypt the keystore \(wrong password\?\)/)
    })

    it('missing deployment file: exit 2 with a hint', async () => {
      const run = await bazaar(
        nodeArgs([
          '--keystore',
          provider.keystore,
          '--rpc-url',
          devnet.rpcUrl,
          '--deployment',
          join(dir, 'nope.json'),
        ]),
        {},
        30_000,
      )
      assert.equal(run.signal, null, 'did not hang')
      assert.equal(run.code, 2, run.stderr)
      assert.match(run.stderr, /cannot read deployment file .*nope\.json/)
      assert.match(run.stderr, /hint: .*bazaar devnet/)
    })

    it('unreachable RPC: exit 3', async () => {
      const deployment = join(dir, 'copy.json')
      await copyFile(devnet.deploymentFile, deployment)
      const url = `http://127.0.0.1:${await closedPort()}`
      for (const args of [
        nodeArgs(['--keystore', provider.keystore, '--rpc-url', url, '--deployment', deployment]),
        ['wallet', 'balance', provider.address, '--rpc-url', url, '--deployment', deployment],
      ]) {
        const run = await bazaar(args, {}, 30_000)
        assert.equal(run.signal, null, 'did not hang')
        assert.equal(run.code, 3, run.stderr)
        assert.match(run.stderr, new RegExp(`cannot reach the chain at ${url}`))
      }
    })

    it('a config file with a bad field names it: exit 2', async () => {
      const config = join(dir, 'bad.yaml')
      await writeFile(config, 'role: provider\nprovider:\n  price: cheap\n')
      const run = await bazaar(['node', 'start', '--config', config], {}, 30_000)
      assert.equal(run.code, 2, run.stderr)
      assert.match(run.stderr, /provider\.price: must be a whole number/)
    })
  })
})
