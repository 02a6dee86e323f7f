import { loadDeployment } from '@bazaar/chain'
import { startHttpApi } from '@bazaar/node/api/http-api'
import {
  loadNodeConfigFile,
  NODE_DEFAULTS,
  NODE_ROLES,
  type NodeConfigFile,
  type NodeRole,
  resolveNodeConfig,
} from '@bazaar/node/daemon/node-config'
import { startDaemon } from '@bazaar/node/daemon/start-daemon'
import { demoProviders } from '@bazaar/node/demo/run-demo'
import { startLocalMarket } from '@bazaar/node/local-market'
import { JobTracker } from '@bazaar/node/requester/job-tracker'
import { formatTokens } from '@bazaar/protocol'
import { type Command, InvalidArgumentError, Option } from 'commander'
import pino from 'pino'
import { ExitCode } from '../exit-codes.ts'
import { keystorePath, unlockKey } from '../keys.ts'

interface StartOptions {
  local?: boolean
  role?: NodeRole
  config?: string
  rpcUrl?: string
  deployment?: string
  keystore?: string
  passwordFile?: string
  listen?: string[]
  bootstrap?: string[]
  apiPort?: number
  apiHost?: string
  dataDir?: string
  price?: bigint
  cores?: number
  memoryMb?: number
  payment?: 'onchain' | 'voucher'
  logLevel?: string
  json?: boolean
}

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('must be an integer from 0 to 65535')
  return n
}

function positive(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer')
  return n
}

function baseUnits(value: string): bigint {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError('must be a whole number of token base units per fuel, e.g. 1000000000')
  return BigInt(value)
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)]
}

/** Flags in the config file's shape: only those given, so the file's values stand otherwise. */
function flagsAsConfig(opts: StartOptions): NodeConfigFile {
  return {
    ...(opts.role ? { role: opts.role } : {}),
    ...(opts.rpcUrl ? { rpcUrl: opts.rpcUrl } : {}),
    ...(opts.deployment ? { deployment: opts.deployment } : {}),
    ...(opts.keystore ? { keystore: opts.keystore } : {}),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.listen ? { listen: opts.listen } : {}),
    ...(opts.bootstrap ? { bootstrap: opts.bootstrap } : {}),
    ...(opts.logLevel ? { logLevel: opts.logLevel as NonNullable<NodeConfigFile['logLevel']> } : {}),
    api: {
      ...(opts.apiPort !== undefined ? { port: opts.apiPort } : {}),
      ...(opts.apiHost ? { host: opts.apiHost } : {}),
    },
    provider: {
      ...(opts.price !== undefined ? { price: opts.price } : {}),
      ...(opts.cores ? { cores: opts.cores } : {}),
      ...(opts.memoryMb ? { memoryMb: opts.memoryMb } : {}),
    },
    requester: { ...(opts.payment ? { payment: opts.payment } : {}) },
  }
}

/** A standalone node: its own key, an existing chain, peers by bootstrap address. */
async function startStandalone(opts: StartOptions): Promise<void> {
  const file = opts.config ? await loadNodeConfigFile(opts.config) : {}
  const config = resolveNodeConfig(file, {
    ...flagsAsConfig(opts),
    // The keystore default also honours BAZAAR_KEYSTORE, like the wallet commands.
    ...(opts.keystore || file.keystore ? {} : { keystore: keystorePath({}) }),
  })
  const logger = pino({ level: config.logLevel }, pino.destination(2))
  // The deployment file is checked before the password is asked for: a typo should not cost a prompt.
  const deployment = await loadDeployment(config.deployment)
  const { privateKey } = await unlockKey({
    keystore: config.keystore,
    ...(opts.passwordFile ? { passwordFile: opts.passwordFile } : {}),
  })
  const daemon = await startDaemon({ config, privateKey, logger, deployment })
  const { info } = daemon
  if (opts.json) console.log(JSON.stringify(info))
  else {
    console.log(`Bazaar node (${info.role}) for account ${info.address} on chain ${info.chainId}`)
    console.log(`Node API: ${info.api}  (dashboard at ${info.api}/, metrics at ${info.api}/metrics)`)
    console.log(`Peer id ${info.peerId}; others bootstrap from:`)
    for (const addr of info.multiaddrs) console.log(`  ${addr}`)
    if (info.offer)
      console.log(
        `Offering ${info.offer.cores} cores, ${info.offer.memoryMb} MiB at >= ${info.offer.floorPricePerFuel} base units/fuel`,
      )
    if (info.stake && !info.stake.eligible)
      console.log(
        `warning: stake ${formatTokens(BigInt(info.stake.staked))} is below the minimum ${formatTokens(BigInt(info.stake.minStake))}; run \`bazaar provider stake\``,
      )
    console.log('Ready. Stop with Ctrl-C.')
  }
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    await daemon.stop()
    process.exit(ExitCode.Ok)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

async function startLocal(opts: StartOptions): Promise<void> {
  const logger = pino({ level: opts.logLevel ?? 'info' }, pino.destination(2))
  console.log('Starting a local market: embedded EVM, 3 providers, 1 requester...')
  const market = await startLocalMarket({
    providers: demoProviders,
    logger,
    ...(opts.rpcUrl ? { rpcUrl: opts.rpcUrl } : {}),
  })
  const requester = market.requester
  const tracker = new JobTracker(requester.requester!)
  const api = await startHttpApi(
    {
      role: 'requester',
      tracker,
      requester: requester.requester!,
      registry: market.admin,
      store: requester.store,
      chain: requester.chain,
      network: requester.network,
      logger,
      balance: () => market.admin.balanceOf(requester.chain.address),
      stakeOf: (provider) => market.admin.stakeOf(provider),
    },
    { port: opts.apiPort ?? NODE_DEFAULTS.apiPort },
  )
  console.log(`Node API: ${api.url}  (dashboard at ${api.url}/, metrics at ${api.url}/metrics)`)
  console.log(`Requester account ${requester.chain.address}, chain id ${requester.chain.chainId}`)
  for (const p of market.providers) console.log(`  provider ${p.name}: ${p.chain.address}`)
  console.log('Ready. Submit jobs with `npm run bazaar -- job run <spec.yaml>`; stop with Ctrl-C.')
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.log('Stopping: waiting for jobs in flight...')
    await tracker.drain()
    await api.close()
    await market.stop()
    process.exit(ExitCode.Ok)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

export function registerNodeCommand(program: Command): void {
  const node = program.command('node').description('Run a Bazaar node')
  node
    .command('start')
    .description('Start a node: a provider, a requester or both, against a chain, with its HTTP API')
    .addOption(new Option('--role <role>', 'what this node does').choices(NODE_ROLES))
    .option('--config <file>', 'YAML config file (flags override its fields)')
    .option('--rpc-url <url>', `JSON-RPC endpoint of the chain (default ${NODE_DEFAULTS.rpcUrl})`)
    .option('--deployment <file>', 'deployment file written by `bazaar devnet` or `bazaar contracts deploy`')
    .option('--keystore <file>', 'encrypted keystore of the node account (default ~/.bazaar/keystore.json)')
    .option('--password-file <file>', 'keystore password file (else env BAZAAR_PASSWORD, else a prompt)')
    .option(
      '--listen <multiaddr>',
      `libp2p listen address, repeatable (default ${NODE_DEFAULTS.listen[0]})`,
      collect,
    )
    .option('--bootstrap <multiaddr>', 'peer to join through, ending in /p2p/<peer id>; repeatable', collect)
    .option(
      '--api-port <port>',
      `HTTP API port on 127.0.0.1 (default ${NODE_DEFAULTS.apiPort}; 0: any free port)`,
      port,
    )
    .option('--data-dir <dir>', 'node data: libp2p identity, node.json (default ~/.bazaar/node)')
    .option(
      '--price <baseUnits>',
      'provider: floor price per fuel unit in token base units (default 1000000000)',
      baseUnits,
    )
    .option('--cores <n>', 'provider: cores to offer (default: all)', positive)
    .option('--memory-mb <n>', 'provider: memory to offer in MiB (default: all)', positive)
    .addOption(
      new Option(
        '--payment <path>',
        'requester: pay jobs per job on-chain or by vouchers (docs/vouchers.md)',
      ).choices(['onchain', 'voucher']),
    )
    .option('--log-level <level>', 'pino log level; JSON logs go to stderr (default info)')
    .option('--json', 'print one JSON line (address, peer id, multiaddrs, API URL) once ready')
    .option(
      '--local',
      'instead: an embedded chain, 3 local providers and a requester in this process: a whole market on this machine',
    )
    .addHelpText(
      'after',
      `
A standalone node connects to an existing chain (--rpc-url), finds the contracts in the
deployment file, and signs with the key in its keystore. Stop with Ctrl-C or SIGTERM: it stops
taking work, lets jobs in flight settle, then exits.

Examples:
  $ bazaar devnet --port 8545                  # terminal 1: a chain, prints its deployment file
  $ bazaar node start --role provider --deployment /tmp/bazaar-devnet/deployment-8545.json \\
      --keystore provider.json --api-port 8081 --price 1000000000
  $ bazaar node start --role requester --deployment /tmp/bazaar-devnet/deployment-8545.json \\
      --keystore requester.json --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo...
  $ bazaar node start --config bazaar.yaml --api-port 9000
  $ bazaar node start --local                  # everything in one process, API on :8080`,
    )
    .action(async (opts: StartOptions) => {
      if (opts.local) return startLocal(opts)
      if (!opts.role && !opts.config) {
        console.error('error: --role provider|requester|both is required (or a --config file with `role:`)')
        console.error('hint: or `bazaar node start --local` for a whole market in one process')
        process.exit(ExitCode.Usage)
      }
      return startStandalone(opts)
    })
}
