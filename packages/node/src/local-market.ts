import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  type Deployment,
  deployBazaar,
  devAccounts,
  type EmbeddedChain,
  startEmbeddedChain,
  type VaultConfig,
} from '@bazaar/chain'
import { createExecutor } from '@bazaar/executor'
import type { ProviderPricing } from '@bazaar/market'
import { parseTokens } from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { Hex } from 'viem'
import { type BazaarNode, createBazaarNode } from './bazaar-node.ts'
import type { WasmRunner } from './provider/provider-service.ts'
import type { RefereeEvent } from './verification/referee-duty.ts'
import type { WatcherEvent } from './verification/watcher.ts'
import type { VoucherProviderInit } from './vouchers/voucher-provider.ts'
import type { VoucherRequesterInit } from './vouchers/voucher-requester.ts'

export interface LocalProviderConfig {
  name: string
  cores: number
  memoryMb: number
  pricing: ProviderPricing
  /**
   * Test harness only (never set by the demo or the daemon): wraps this provider's executor,
   * e.g. to make it return a wrong result, for the verification tests.
   */
  wrapRunner?: (runner: WasmRunner) => WasmRunner
  /** With verification on: false keeps this provider out of the referee pool (and not watching). */
  referee?: boolean
  /** Where this provider keeps its database (in memory without it), for restart tests. */
  dataDir?: string
}

export interface LocalMarketInit {
  providers: LocalProviderConfig[]
  /**
   * How the requester pays (docs/vouchers.md): per job on JobMarket (default) or by vouchers of
   * the VoucherVault. Providers take both.
   */
  payment?: 'onchain' | 'voucher'
  /** Voucher path settings of the providers and the requester, and the vault's delays. */
  vouchers?: {
    provider?: Partial<VoucherProviderInit>
    requester?: Partial<VoucherRequesterInit>
    vault?: Partial<VaultConfig>
  }
  logger: Logger
  /** Use this JSON-RPC chain instead of the embedded one (contracts are deployed there). */
  rpcUrl?: string
  /** Tokens minted to the requester, in whole BZR. */
  requesterFunds?: string
  /** Tokens each provider stakes, in whole BZR. */
  providerStake?: string
  /** Seconds after a reveal before anyone may finalize. */
  challengeWindow?: bigint
  /**
   * Verification (docs/verification.md): the requester can run audited jobs and every provider
   * joins the referee pool and serves when drawn. Off by default: each provider then polls the
   * court for duties.
   */
  verification?: {
    pollMs?: number
    onRefereeEvent?(provider: string, event: RefereeEvent): void
    /** Chance each provider re-checks an optimistic job (default 0.1). */
    watchProbability?: number
    onWatcherEvent?(provider: string, event: WatcherEvent): void
  }
}

export interface LocalMarket {
  chain: EmbeddedChain | undefined
  deployment: Deployment
  /** Deployer's view of the contracts, for balance and supply checks. */
  admin: BazaarContracts
  requester: BazaarNode
  providers: BazaarNode[]
  stop(): Promise<void>
}

/**
 * A whole market in one process: the chain (embedded EDR unless `rpcUrl` is given), the
 * contracts deployed and funded, N provider nodes and one requester node talking real
 * libp2p over 127.0.0.1. Used by `bazaar demo`, the end-to-end tests and the benchmarks.
 */
export async function startLocalMarket(init: LocalMarketInit): Promise<LocalMarket> {
  const accounts = devAccounts(init.providers.length + 2)
  const chain = init.rpcUrl ? undefined : await startEmbeddedChain({ accounts: accounts.length })
  const stoppables: { stop(): Promise<void> }[] = []
  try {
    const clientsFor = (privateKey: Hex) =>
      createChainClients(
        chain ? { provider: chain.provider, privateKey } : { rpcUrl: init.rpcUrl!, privateKey },
      )
    const [deployerKey, requesterKey, ...providerKeys] = accounts.map((a) => a.privateKey)
    const adminClients = await clientsFor(deployerKey!)
    const minStake = parseTokens('10')
    const deployment = await deployBazaar(adminClients, {
      minStake,
      minCollateral: parseTokens('1'),
      challengeWindow: init.challengeWindow ?? 60n,
      ...(init.vouchers?.vault ? { vault: init.vouchers.vault } : {}),
    })
    const admin = createBazaarContracts({ clients: adminClients, deployment })
    const contractsFor = async (key: Hex) =>
      createBazaarContracts({ clients: await clientsFor(key), deployment })

    const requesterContracts = await contractsFor(requesterKey!)
    await admin.mint(requesterContracts.address, parseTokens(init.requesterFunds ?? '1000'))
    const stake = parseTokens(init.providerStake ?? '100')

    const providers: BazaarNode[] = []
    let bootstrap: string[] = []
    for (const [index, config] of init.providers.entries()) {
      const contracts = await contractsFor(providerKeys[index]!)
      // With verification on, a provider also needs its referee bond (the court's default: the
      // market's least collateral, 1 BZR); 10 BZR leaves room for a few.
      await admin.mint(contracts.address, stake + (init.verification ? parseTokens('10') : 0n))
      await contracts.stakeWithPermit(stake)
      const executor = createExecutor({ workers: config.cores })
      stoppables.push({ stop: () => executor.close() })
      const runner = config.wrapRunner ? config.wrapRunner(executor) : executor
      const node = await createBazaarNode({
        name: config.name,
        contracts,
        logger: init.logger,
        bootstrap,
        provider: {
          capacity: { cores: config.cores, memoryMb: config.memoryMb, runtimes: ['wasm'] },
          pricing: config.pricing,
          runner,
        },
        ...(config.dataDir ? { dataDir: config.dataDir } : {}),
        vouchers: {
          vault: deployment.vault,
          ...(init.vouchers?.provider ? { provider: init.vouchers.provider } : {}),
        },
        ...(init.verification
          ? {
              court: {
                address: deployment.court,
                ...(config.referee === false ? { referee: false } : {}),
                ...(init.verification.pollMs ? { pollMs: init.verification.pollMs } : {}),
                onRefereeEvent: (event: RefereeEvent) =>
                  init.verification?.onRefereeEvent?.(config.name, event),
                ...(init.verification.watchProbability === undefined
                  ? {}
                  : { watchProbability: init.verification.watchProbability }),
                onWatcherEvent: (event: WatcherEvent) =>
                  init.verification?.onWatcherEvent?.(config.name, event),
              },
            }
          : {}),
      })
      stoppables.unshift(node)
      providers.push(node)
      // The first three providers are everyone's bootstrap peers; kad-dht finds the rest.
      if (index < 3) bootstrap = [...bootstrap, ...node.network.multiaddrs()]
    }
    const requester = await createBazaarNode({
      name: 'requester',
      contracts: requesterContracts,
      logger: init.logger,
      // The requester also dials up to eight providers directly, so its gossip mesh forms fast.
      bootstrap: [...bootstrap, ...providers.slice(3, 8).flatMap((p) => p.network.multiaddrs())],
      requester: {},
      // A voucher-paying requester disputes wrong claims in the court (docs/vouchers.md).
      ...(init.verification || init.payment === 'voucher' ? { court: { address: deployment.court } } : {}),
      vouchers: {
        vault: deployment.vault,
        payment: init.payment ?? 'onchain',
        ...(init.vouchers?.requester ? { requester: init.vouchers.requester } : {}),
      },
    })
    stoppables.unshift(requester)
    // Ready when job gossip has a mesh and every provider's offer has reached the requester:
    // gossip then flows both ways, and bids come back over direct streams.
    await requester.network.waitForJobSubscribers(Math.min(providers.length, 3), {
      signal: AbortSignal.timeout(20_000),
    })
    // An offer published before the mesh formed comes again at the next republish: a large
    // market on a busy machine needs more than one round, so the budget grows with its size.
    await waitUntil(
      () => (requester.requester?.offers.size ?? 0) >= providers.length,
      Math.max(30_000, providers.length * 4_000),
      'offers from every provider',
    )
    return {
      chain,
      deployment,
      admin,
      requester,
      providers,
      async stop() {
        for (const s of stoppables) await s.stop()
        await chain?.close()
      },
    }
  } catch (err) {
    for (const s of stoppables) await s.stop().catch(() => undefined)
    await chain?.close()
    throw err
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > until)
      throw new Error(`local market not ready after ${timeoutMs} ms: waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
