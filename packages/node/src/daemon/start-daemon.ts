import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Deployment, loadDeployment } from '@bazaar/chain'
import { createDockerExecutor, createExecutor, probeResources } from '@bazaar/executor'
import { formatTokens } from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { Hex } from 'viem'
import { type HttpApi, startHttpApi } from '../api/http-api.ts'
import { type BazaarNode, createBazaarNode } from '../bazaar-node.ts'
import { createJobRunner } from '../provider/job-runner.ts'
import { JobTracker } from '../requester/job-tracker.ts'
import { connectChain } from './connect-chain.ts'
import { type NodeConfig, NodeConfigError } from './node-config.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'

export interface DaemonInit {
  config: NodeConfig
  /** The node's account key, already unlocked from its keystore by the caller. */
  privateKey: Hex
  logger: Logger
  /** The deployment file's contents, if the caller already loaded it (else read from `config.deployment`). */
  deployment?: Deployment
}

/** What a started daemon tells its operator (also written to `<dataDir>/node.json`). */
export interface DaemonInfo {
  role: NodeConfig['role']
  address: string
  chainId: number
  peerId: string
  multiaddrs: string[]
  api: string
  pid: number
  /** Provider role: what it offers. */
  offer?: { cores: number; memoryMb: number; floorPricePerFuel: string; runtimes: string[] }
  /** Provider role: active stake and whether it meets the registry minimum. */
  stake?: { staked: string; minStake: string; eligible: boolean }
}

export interface Daemon {
  readonly info: DaemonInfo
  readonly node: BazaarNode
  /** Stops taking work, waits for jobs in flight, then closes the API, the network and the sandbox. */
  stop(): Promise<void>
}

/**
 * Starts a standalone node against an existing chain: loads the deployment file, connects
 * over JSON-RPC, probes resources (provider role), joins the network and serves the HTTP API.
 * Everything started is stopped again if a later step fails.
 */
export async function startDaemon(init: DaemonInit): Promise<Daemon> {
  const { config, logger } = init
  const log = logger.child({ component: 'bazaar:daemon' })
  const deployment = init.deployment ?? (await loadDeployment(config.deployment))
  const contracts = await connectChain({ rpcUrl: config.rpcUrl, deployment, privateKey: init.privateKey })
  await mkdir(config.dataDir, { recursive: true })
  const peerKey = await loadOrCreatePeerKey(config.dataDir)
  const isProvider = config.role === 'provider' || config.role === 'both'
  const isRequester = config.role === 'requester' || config.role === 'both'
  const cleanup: (() => Promise<void>)[] = []

  try {
    let providerInit: Parameters<typeof createBazaarNode>[0]['provider']
    let offer: DaemonInfo['offer']
    let stake: DaemonInfo['stake']
    if (isProvider) {
      // Containers are offered only when a Docker daemon answers (and the operator did not turn them off).
      const docker = config.provider.docker === false ? undefined : createDockerExecutor()
      const machine = await probeResources({
        dataDir: config.dataDir,
        ...(docker ? { dockerPing: () => docker.ping() } : {}),
      })
      const containers = machine.runtimes.includes('docker') ? docker : undefined
      if (docker && !containers) await docker.close()
      // Offer what was asked for, never more than the machine has.
      const cores = Math.min(config.provider.cores ?? machine.cores, machine.cores)
      const memoryMb = Math.min(config.provider.memoryMb ?? machine.memoryMb, machine.memoryMb)
      log.info(
        {
          cores,
          memoryMb,
          machine: { cores: machine.cores, memoryMb: machine.memoryMb, gpus: machine.gpus.length },
        },
        'resources probed',
      )
      const wasm = createExecutor({ workers: cores })
      cleanup.unshift(() => wasm.close())
      if (containers) cleanup.unshift(() => containers.close())
      const runner = createJobRunner({ wasm, ...(containers ? { containers } : {}) })
      const runtimes = [...runner.runtimes]
      providerInit = {
        capacity: { cores, memoryMb, runtimes },
        pricing: {
          floorPerFuel: config.provider.price,
          // A docker fuel unit is a core-millisecond: it has its own floor.
          floorPerFuelByRuntime: { docker: config.provider.dockerPrice },
          utilizationMarkupPercent: config.provider.utilizationMarkupPercent,
          ...(config.provider.spot ? { spot: config.provider.spot } : {}),
        },
        runner,
        collectIntervalMs: config.provider.collect.intervalSeconds * 1000,
        collectGraceSeconds: BigInt(config.provider.collect.graceSeconds),
        blobRetentionHours: config.provider.blobRetentionHours,
        // TEST ONLY: the crash-recovery e2e kills the node between commit and reveal.
        ...(process.env.BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS
          ? { testPauseBeforeRevealMs: Number(process.env.BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS) }
          : {}),
      }
      offer = { cores, memoryMb, floorPricePerFuel: config.provider.price.toString(), runtimes }
      const [account, params] = await Promise.all([
        contracts.accountOf(contracts.address),
        contracts.registryParameters(),
      ])
      stake = {
        staked: account.staked.toString(),
        minStake: params.minStake.toString(),
        eligible: account.staked >= params.minStake,
      }
      if (!stake.eligible) {
        // Not fatal: the operator may stake while the node runs; until then requesters skip it.
        log.warn(
          { staked: formatTokens(account.staked), minStake: formatTokens(params.minStake) },
          'stake below the registry minimum: requesters will not award jobs to this provider',
        )
      }
    }

    const node = await createBazaarNode({
      name: config.role,
      contracts,
      logger,
      listen: config.listen,
      bootstrap: config.bootstrap,
      peerKey,
      // Jobs, salts, receipts and outputs survive a restart (docs/reliability.md).
      dataDir: config.dataDir,
      // TEST ONLY: the fault-injection e2e kills a provider in the middle of a result transfer.
      ...(process.env.BAZAAR_TEST_STALL_SERVE_MS
        ? { testStallServeMs: Number(process.env.BAZAAR_TEST_STALL_SERVE_MS) }
        : {}),
      // TEST ONLY: the fault-injection e2e drops every libp2p connection of a node periodically.
      ...(process.env.BAZAAR_TEST_DROP_CONNECTIONS_MS
        ? { testDropConnectionsEveryMs: Number(process.env.BAZAAR_TEST_DROP_CONNECTIONS_MS) }
        : {}),
      ...(process.env.BAZAAR_TEST_DELAY_ANSWERS_MS
        ? { testDelayAnswersMs: Number(process.env.BAZAAR_TEST_DELAY_ANSWERS_MS) }
        : {}),
      ...(providerInit ? { provider: providerInit } : {}),
      ...(isRequester
        ? {
            requester: {
              ...(config.requester.maxAnnouncements
                ? { maxAnnouncements: config.requester.maxAnnouncements }
                : {}),
            },
          }
        : {}),
      // Voucher-paid jobs (docs/vouchers.md): providers take them; a requester pays by vouchers
      // when its config says `payment: voucher`.
      vouchers: { vault: deployment.vault, payment: config.requester.payment },
      // Audited jobs (requesters) and referee/auditor duty (providers join the pool when staked
      // and able to post the bond; docs/verification.md).
      court: { address: deployment.court },
    })
    cleanup.unshift(() => node.stop())
    const tracker = node.requester
      ? new JobTracker(node.requester, { db: node.db.requesterJobs, store: node.store })
      : undefined
    if (tracker) {
      cleanup.unshift(() => tracker.drain())
      // Jobs this node was running when it stopped (or was killed) continue where they stopped.
      const resumed = await tracker.restore()
      if (resumed.length > 0) log.info({ jobs: resumed }, 'resumed unfinished jobs')
    }

    let api: HttpApi
    try {
      api = await startHttpApi(
        {
          role: config.role,
          tracker,
          requester: node.requester,
          provider: node.provider,
          registry: contracts,
          store: node.store,
          chain: node.chain,
          network: node.network,
          logger,
          balance: () => contracts.balanceOf(contracts.address),
          stakeOf: (provider) => contracts.stakeOf(provider),
          vouchers: node.vouchers,
        },
        { port: config.api.port, hostname: config.api.host },
      )
    } catch (cause) {
      throw new NodeConfigError(
        `api.port: cannot serve the API on ${config.api.host}:${config.api.port} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`,
        { cause, hint: 'another process holds the port: pass --api-port with a free port, or 0 for any' },
      )
    }
    cleanup.unshift(() => api.close())

    const info: DaemonInfo = {
      role: config.role,
      address: contracts.address,
      chainId: contracts.clients.chainId,
      peerId: node.network.peerId,
      multiaddrs: node.network.multiaddrs(),
      api: api.url,
      pid: process.pid,
      ...(offer ? { offer } : {}),
      ...(stake ? { stake } : {}),
    }
    // Other processes (scripts, tests, a second node's --bootstrap) can read where this node is.
    const infoFile = join(config.dataDir, 'node.json')
    await writeFile(infoFile, `${JSON.stringify(info, null, 2)}\n`)
    cleanup.push(() => rm(infoFile, { force: true }))
    log.info(info, 'node started')

    let stopped: Promise<void> | undefined
    return {
      info,
      node,
      stop() {
        stopped ??= (async () => {
          log.info('stopping: waiting for jobs in flight')
          for (const step of cleanup)
            await step().catch((err: unknown) => log.warn({ err }, 'stop step failed'))
          log.info('stopped')
        })()
        return stopped
      },
    }
  } catch (err) {
    for (const step of cleanup) await step().catch(() => undefined)
    throw err
  }
}
