/**
 * A whole market as separate OS processes on 127.0.0.1, the shape of a real deployment:
 * `bazaar devnet`, one requester daemon and N provider daemons (`bazaar node start`), each with
 * its own keystore and data dir. Used by the load and fault-injection tests and by the `load`
 * bench suite. Keystores are written in-process (cheap scrypt) and funding and staking go
 * straight to the devnet with the chain facade: `bazaar wallet new`, `devnet fund` and
 * `provider stake` are covered by multi-process.e2e.test.ts, and 3 CLI processes per provider
 * would dominate the setup time of a 10-provider market on 2 cores.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type BazaarContracts,
  type Deployment,
  devAccounts,
  encryptKeystore,
  loadDeployment,
} from '@bazaar/chain'
import { connectChain } from '@bazaar/node/daemon/connect-chain'
import { parseTokens } from '@bazaar/protocol'
import type { BazaarClient, JobView } from '@bazaar/sdk'
import type { Address, Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')
const bin = resolve(repoRoot, 'packages/cli/src/bin.ts')
const PASSWORD = 'correct horse battery staple'

export interface NodeReady {
  address: Address
  peerId: string
  multiaddrs: string[]
  api: string
}

/** One running daemon: its process, what it printed when ready, and its stderr so far. */
export interface NodeProcess {
  child: ChildProcess
  ready: NodeReady
  logs(): string
}

/** A job as a provider's API lists it. */
export interface ProviderJob {
  jobId: string
  phase: string
  fuelUsed?: string
}

export interface MarketAccount {
  address: Address
  privateKey: Hex
  keystore: string
  dataDir: string
}

export interface ProcessMarketInit {
  /** A fresh directory for keystores, data dirs and the deployment file. */
  dir: string
  providers: number
  /** Cores each provider offers (default 1). */
  providerCores?: number
  /** Floor price per fuel of provider i, in base units (default 1 gwei + i × 10 mwei). */
  providerPrice?: (index: number) => bigint
  /** Stake per provider in BZR (default 50). */
  stake?: string
  /** Tokens minted to each account in BZR (default 1000). */
  fundTokens?: string
  /** Extra YAML lines for the requester's config file (under the top level). */
  requesterConfig?: string[]
  /** Extra environment of provider i (test-only hooks). */
  providerEnv?: (index: number) => Record<string, string>
  logLevel?: string
}

/** A child environment without the test runner's BAZAAR_* settings. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env }
  for (const key of Object.keys(base)) if (key.startsWith('BAZAAR_')) delete base[key]
  return { ...base, BAZAAR_PASSWORD: PASSWORD, ...extra }
}

/** Resident memory of a process in bytes (VmRSS of /proc/<pid>/status), or undefined when gone. */
export function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Polls a job through the SDK until it leaves `running`; returns its final view. */
export function waitForJobEnd(client: BazaarClient, id: string, timeoutMs = 120_000): Promise<JobView> {
  return waitFor(
    `job ${id} to end`,
    async () => {
      const view = await client.getJob(id)
      return view.state === 'running' ? undefined : view
    },
    timeoutMs,
    500,
  )
}

/** Waits until `probe` returns a value (errors count as "not yet"); throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
  everyMs = 200,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export async function kill9(child: ChildProcess): Promise<void> {
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

/**
 * The devnet, a requester and N providers, all bootstrapped to the requester (a star: the
 * requester gossips announcements and receives every bid), each provider staked and offering.
 */
export class ProcessMarket {
  readonly init: ProcessMarketInit
  readonly children = new Set<ChildProcess>()
  devnet!: { child: ChildProcess; rpcUrl: string; deploymentFile: string; logs(): string }
  deployment!: Deployment
  /** Read-only chain access for checks (a throwaway signer that never sends). */
  chain!: BazaarContracts
  chainArgs: string[] = []
  requesterAccount!: MarketAccount
  providerAccounts: MarketAccount[] = []
  requester!: NodeProcess
  /** Provider processes by index; an entry stays (dead) after a kill. */
  providers: NodeProcess[] = []

  constructor(init: ProcessMarketInit) {
    this.init = init
  }

  async start(): Promise<this> {
    const { dir } = this.init
    await mkdir(dir, { recursive: true })
    const started = await this.spawnReady<{ rpcUrl: string; deploymentFile: string }>(
      ['devnet', '--port', '0', '--deployment', join(dir, 'deployment.json')],
      'devnet',
    )
    this.devnet = {
      child: started.child,
      logs: started.logs,
      rpcUrl: started.ready.rpcUrl,
      deploymentFile: started.ready.deploymentFile,
    }
    this.chainArgs = ['--rpc-url', this.devnet.rpcUrl, '--deployment', this.devnet.deploymentFile]
    this.deployment = await loadDeployment(this.devnet.deploymentFile)
    this.chain = await connectChain({ rpcUrl: this.devnet.rpcUrl, deployment: this.deployment })

    this.requesterAccount = await this.account('requester')
    for (let i = 0; i < this.init.providers; i++)
      this.providerAccounts.push(await this.account(`provider-${i}`))
    await this.fundAndStake()

    this.requester = await this.startRequester()
    this.providers = await Promise.all(this.providerAccounts.map((_, i) => this.startProvider(i)))
    await this.waitForOffers()
    return this
  }

  /** Runs a bazaar command to its end (`--json` added) and returns its parsed stdout. */
  async bazaarJson<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.bazaarText([...args, '--json'])) as T
  }

  /** Runs a bazaar command as a user does (killed after 60 s); its stdout, or throws with stderr. */
  async bazaarText(args: string[]): Promise<string> {
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: childEnv() })
      this.children.add(child)
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.on('error', fail)
      child.on('close', (code) => {
        clearTimeout(timer)
        this.children.delete(child)
        done({ code, stdout, stderr })
      })
    })
    if (run.code !== 0)
      throw new Error(`bazaar ${args.join(' ')} exited ${run.code}:\n${run.stdout}\n${run.stderr}`)
    return run.stdout
  }

  /** Starts (or restarts, on the same data dir) the requester; `extraConfig`: more YAML lines. */
  startRequester(extraConfig: string[] = []): Promise<NodeProcess> {
    const a = this.requesterAccount
    const config = join(this.init.dir, 'requester.yaml')
    return writeFile(
      config,
      [
        'role: requester',
        `keystore: ${JSON.stringify(a.keystore)}`,
        `logLevel: ${this.init.logLevel ?? 'warn'}`,
        ...(this.init.requesterConfig ?? []),
        ...extraConfig,
      ].join('\n'),
    ).then(() =>
      this.spawnReady<NodeReady>(
        ['node', 'start', '--config', config, ...this.chainArgs, '--api-port', '0', '--data-dir', a.dataDir],
        'requester node',
      ),
    )
  }

  /** Starts (or restarts, on the same data dir) provider `index`, bootstrapped to the requester. */
  async startProvider(index: number, extraEnv: Record<string, string> = {}): Promise<NodeProcess> {
    const a = this.providerAccounts[index]!
    const price = this.init.providerPrice?.(index) ?? 1_000_000_000n + BigInt(index) * 10_000_000n
    const node = await this.spawnReady<NodeReady>(
      [
        'node',
        'start',
        '--role',
        'provider',
        '--keystore',
        a.keystore,
        ...this.chainArgs,
        '--api-port',
        '0',
        '--data-dir',
        a.dataDir,
        '--cores',
        String(this.init.providerCores ?? 1),
        '--price',
        price.toString(),
        '--bootstrap',
        this.requester.ready.multiaddrs[0]!,
        '--log-level',
        this.init.logLevel ?? 'warn',
      ],
      `provider ${index}`,
      { ...this.init.providerEnv?.(index), ...extraEnv },
    )
    this.providers[index] = node
    return node
  }

  /** Provider `index`'s jobs as its API lists them (`/v1/provider/jobs`). */
  async providerJobs(index: number): Promise<ProviderJob[]> {
    const res = await fetch(`${this.providers[index]!.ready.api}/v1/provider/jobs`)
    return ((await res.json()) as { jobs: ProviderJob[] }).jobs
  }

  /** Resolves once the requester holds a live offer from every running provider. */
  async waitForOffers(timeoutMs = 90_000): Promise<void> {
    const wanted = this.providers
      .filter((p) => p.child.exitCode === null && p.child.signalCode === null)
      .map((p) => p.ready.address.toLowerCase())
    await waitFor(
      `offers from ${wanted.length} providers at the requester`,
      async () => {
        const res = await fetch(`${this.requester.ready.api}/v1/market/offers`)
        const { offers } = (await res.json()) as { offers: { provider: string }[] }
        const seen = new Set(offers.map((o) => o.provider.toLowerCase()))
        return wanted.every((w) => seen.has(w)) ? true : undefined
      },
      timeoutMs,
      500,
    )
  }

  /** Resident memory of every running market process, in bytes. */
  rss(): { devnet?: number; requester?: number; providers: (number | undefined)[] } {
    const devnet = rssOf(this.devnet.child.pid)
    const requester = rssOf(this.requester.child.pid)
    return {
      ...(devnet === undefined ? {} : { devnet }),
      ...(requester === undefined ? {} : { requester }),
      providers: this.providers.map((p) => rssOf(p.child.pid)),
    }
  }

  /** Token balances of the requester, each provider and the market contract, with stakes. */
  async snapshot(): Promise<MarketSnapshot> {
    const providers = await Promise.all(
      this.providerAccounts.map(async (a) => {
        const [tokens, account] = await Promise.all([
          this.chain.balanceOf(a.address),
          this.chain.accountOf(a.address),
        ])
        return { address: a.address, tokens, staked: account.staked, locked: account.locked }
      }),
    )
    const [requester, market, registry, block] = await Promise.all([
      this.chain.balanceOf(this.requesterAccount.address),
      this.chain.balanceOf(this.deployment.market),
      this.chain.balanceOf(this.deployment.registry),
      // cacheTime 0: viem caches the block number for its polling interval (4 s over HTTP).
      this.chain.clients.publicClient.getBlockNumber({ cacheTime: 0 }),
    ])
    return { requester, market, registry, providers, block }
  }

  /** Gas of every transaction mined in blocks (from, to]: nothing else uses this devnet. */
  async gasBetween(from: bigint, to: bigint): Promise<{ gas: bigint; transactions: number }> {
    let gas = 0n
    let transactions = 0
    const numbers: bigint[] = []
    for (let n = from + 1n; n <= to; n++) numbers.push(n)
    for (let i = 0; i < numbers.length; i += 32) {
      const blocks = await Promise.all(
        numbers
          .slice(i, i + 32)
          .map((blockNumber) => this.chain.clients.publicClient.getBlock({ blockNumber })),
      )
      for (const block of blocks) {
        gas += block.gasUsed
        transactions += block.transactions.length
      }
    }
    return { gas, transactions }
  }

  /** Stops every process: nodes first, then the chain they use. */
  async stop(): Promise<void> {
    const devnet = this.devnet?.child
    await Promise.all([...this.children].filter((c) => c !== devnet).map(stopChild))
    if (devnet) await stopChild(devnet)
  }

  private async account(name: string): Promise<MarketAccount> {
    const privateKey = generatePrivateKey()
    const keystore = join(this.init.dir, `${name}.json`)
    // A small scrypt cost: the daemons decrypt it at start, and this is a throwaway devnet key.
    await writeFile(keystore, await encryptKeystore(privateKey, PASSWORD, { scryptN: 1024 }))
    return {
      address: privateKeyToAccount(privateKey).address,
      privateKey,
      keystore,
      dataDir: join(this.init.dir, `${name}-data`),
    }
  }

  private async fundAndStake(): Promise<void> {
    const faucet = await connectChain({
      rpcUrl: this.devnet.rpcUrl,
      deployment: this.deployment,
      privateKey: devAccounts(1)[0]!.privateKey,
    })
    const tokens = parseTokens(this.init.fundTokens ?? '1000')
    for (const a of [this.requesterAccount, ...this.providerAccounts]) {
      const hash = await faucet.clients.walletClient.sendTransaction({ to: a.address, value: 10n ** 19n })
      await faucet.clients.publicClient.waitForTransactionReceipt({ hash })
      await faucet.mint(a.address, tokens)
    }
    const stake = parseTokens(this.init.stake ?? '50')
    await Promise.all(
      this.providerAccounts.map(async (a) => {
        const signer = await connectChain({
          rpcUrl: this.devnet.rpcUrl,
          deployment: this.deployment,
          privateKey: a.privateKey,
        })
        await signer.stakeWithPermit(stake)
      }),
    )
  }

  /** Starts a long-running bazaar command and resolves with the first JSON line it prints. */
  private spawnReady<T>(
    args: string[],
    what: string,
    extraEnv: Record<string, string> = {},
  ): Promise<{ child: ChildProcess; ready: T; logs: () => string }> {
    const child = spawn(process.execPath, [bin, ...args, '--json'], {
      cwd: repoRoot,
      env: childEnv(extraEnv),
    })
    this.children.add(child)
    child.on('exit', () => this.children.delete(child))
    let stderr = ''
    // Bounded: a chatty node over a long load run must not grow the harness without limit.
    child.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-200_000)
    })
    return new Promise((found, fail) => {
      let seen = ''
      const timer = setTimeout(
        () => fail(new Error(`${what} not ready after 90 s:\n${seen}\n${stderr}`)),
        90_000,
      )
      const onData = (d: Buffer) => {
        seen += d
        const line = seen.split('\n').find((l) => l.startsWith('{'))
        if (line && seen.includes('\n')) {
          clearTimeout(timer)
          child.stdout!.off('data', onData)
          child.stdout!.resume()
          found({ child, ready: JSON.parse(line) as T, logs: () => stderr })
        }
      }
      child.stdout!.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        fail(new Error(`${what} exited with ${code}:\n${seen}\n${stderr}`))
      })
    })
  }
}

export interface MarketSnapshot {
  requester: bigint
  market: bigint
  registry: bigint
  providers: { address: Address; tokens: bigint; staked: bigint; locked: bigint }[]
  block: bigint
}

export async function startProcessMarket(init: ProcessMarketInit): Promise<ProcessMarket> {
  const market = new ProcessMarket(init)
  try {
    return await market.start()
  } catch (err) {
    await market.stop()
    throw err
  }
}
