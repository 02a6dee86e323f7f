/**
 * A small market on real parts for the market e2e tests: embedded EVM with the contracts,
 * provider and requester nodes over libp2p on 127.0.0.1, and a stand-in WASM runner the test
 * controls (it can hold a job "running" to make its provider busy). Unlike local-market.ts,
 * each provider's stake, pricing and keys are the test's to choose, and on-chain history
 * (faults, jail) can be written before the nodes start.
 */
import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  type Deployment,
  deployBazaar,
  type EmbeddedChain,
  startEmbeddedChain,
} from '@bazaar/chain'
import type { ProviderPricing } from '@bazaar/market'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { type BazaarNode, createBazaarNode } from '../src/bazaar-node.ts'
import type { WasmRunner } from '../src/provider/provider-service.ts'
import type { JobEvent } from '../src/requester/job-events.ts'
import { type PreparedJob, prepareJob } from '../src/requester/prepare-job.ts'
import type { JobOutcome, RequesterInit } from '../src/requester/requester-service.ts'

export const GWEI = 1_000_000_000n
export const BZR = 10n ** 18n

/** A runner that returns at once, or holds every run until `release()` while `hold` is on. */
export class TestRunner implements WasmRunner {
  runs = 0
  hold = false
  private waiting: (() => void)[] = []

  async run(job: {
    limits: { fuel: bigint }
  }): Promise<{ stdout: Uint8Array; exitCode: number; fuelUsed: bigint }> {
    this.runs++
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve))
    const fuelUsed = job.limits.fuel < 1_000n ? job.limits.fuel : 1_000n
    return { stdout: new TextEncoder().encode('ok'), exitCode: 0, fuelUsed }
  }

  release(): void {
    this.hold = false
    for (const resolve of this.waiting.splice(0)) resolve()
  }
}

export interface MarketFixture {
  chain: EmbeddedChain
  deployment: Deployment
  admin: BazaarContracts
  /** A facade for dev account `index` (0 is the deployer). */
  contractsFor(index: number): Promise<BazaarContracts>
  /** Starts a node for dev account `index`; providers stake `stake` first (if > 0). */
  startNode(args: {
    name: string
    account: number
    provider?: {
      cores: number
      memoryMb: number
      pricing: ProviderPricing
      stake: bigint
      runner?: TestRunner
    }
    requester?: RequesterInit
  }): Promise<BazaarNode>
  stop(): Promise<void>
}

export async function startMarketFixture(params: {
  accounts: number
  minStake: bigint
  maxFaults: number
}): Promise<MarketFixture> {
  const chain = await startEmbeddedChain({ accounts: params.accounts })
  const nodes: BazaarNode[] = []
  const clientsFor = (index: number) =>
    createChainClients({
      provider: chain.provider,
      privateKey: chain.accounts[index]!.privateKey,
      chainId: chain.chainId,
    })
  const adminClients = await clientsFor(0)
  const deployment = await deployBazaar(adminClients, {
    minStake: params.minStake,
    minCollateral: BZR,
    challengeWindow: 60n,
    maxFaults: params.maxFaults,
  })
  const admin = createBazaarContracts({ clients: adminClients, deployment })
  const contractsFor = async (index: number) =>
    createBazaarContracts({ clients: await clientsFor(index), deployment })
  let bootstrap: string[] = []
  return {
    chain,
    deployment,
    admin,
    contractsFor,
    async startNode({ name, account, provider, requester }) {
      const contracts = await contractsFor(account)
      if (provider && provider.stake > 0n && (await contracts.stakeOf(contracts.address)) === 0n) {
        await admin.mint(contracts.address, provider.stake)
        await contracts.stakeWithPermit(provider.stake)
      }
      if (requester) await admin.mint(contracts.address, 1_000n * BZR)
      const node = await createBazaarNode({
        name,
        contracts,
        logger: pino({ level: 'silent' }),
        bootstrap,
        ...(provider
          ? {
              provider: {
                capacity: { cores: provider.cores, memoryMb: provider.memoryMb, runtimes: ['wasm'] },
                pricing: provider.pricing,
                runner: provider.runner ?? new TestRunner(),
              },
            }
          : {}),
        ...(requester ? { requester } : {}),
        // Tests call prices.poll() when they need the index current; no background polling noise.
        priceFeed: { pollIntervalMs: 60_000, fromBlock: BigInt(deployment.deployedAtBlock) },
      })
      nodes.push(node)
      bootstrap = [...bootstrap, ...node.network.multiaddrs()].slice(0, 8)
      return node
    },
    async stop() {
      for (const node of nodes.reverse()) await node.stop().catch(() => undefined)
      await chain.close()
    },
  }
}

/**
 * Writes one missed commit into `provider`'s on-chain record: `requester` opens a job, awards it
 * to a bid `provider` signed, nobody commits, the clock passes the commit deadline, and
 * `reclaimExpired` slashes the collateral and counts the fault (enough faults jail).
 */
export async function missCommit(
  chain: EmbeddedChain,
  requester: BazaarContracts,
  provider: BazaarContracts,
): Promise<void> {
  const now = (await requester.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp
  const { jobId } = await requester.createJobWithPermit({
    specHash: `0x${'ab'.repeat(32)}`,
    maxPricePerFuel: GWEI,
    maxFuel: 1_000n,
    bidDeadline: now + 60n,
    awardDeadline: now + 60n,
    commitWindow: 5n,
    revealWindow: 5n,
  })
  await requester.award(await provider.signBid({ jobId, pricePerFuel: GWEI, expiry: now + 60n }))
  await chain.increaseTime(6)
  await requester.reclaimExpired(jobId)
}

/** A tiny job for the stand-in runner: 1 core, `memoryMb`, capped at `maxPrice` per fuel. */
export async function testJob(name: string, maxPrice: bigint, memoryMb = 64): Promise<PreparedJob> {
  const module = new TextEncoder().encode(`module of ${name}`)
  const moduleCid = await cidOf(module)
  const spec = validateJobSpec({
    version: 1,
    name,
    runtime: 'wasm',
    module: { cid: moduleCid },
    args: [],
    env: { LANG: 'C' },
    inputs: [],
    resources: { cores: 1, memoryMb },
    limits: { fuel: '1000000' },
    price: { maxPerFuel: maxPrice.toString() },
    deadlines: { biddingMs: 1_500, executionSeconds: 120 },
  })
  return prepareJob(spec, { baseDir: '/', known: new Map([[moduleCid, module]]) })
}

export type Timed = JobEvent & { at: number }

/** Runs a job through `node`'s requester, keeping its events. */
export async function runJob(
  node: BazaarNode,
  job: PreparedJob,
): Promise<{ outcome: JobOutcome; events: Timed[] }> {
  const events: Timed[] = []
  const outcome = await node.requester!.run(job, { onEvent: (e) => events.push(e as Timed) })
  return { outcome, events }
}

/** The bids of a job's last round, by lowercase provider address. */
export function lastRoundBids(events: Timed[]): Map<string, bigint> {
  const last = events.findLastIndex((e) => e.type === 'announced')
  const out = new Map<string, bigint>()
  for (const e of events.slice(last)) if (e.type === 'bid') out.set(e.provider.toLowerCase(), e.pricePerFuel)
  return out
}

export async function waitFor(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
