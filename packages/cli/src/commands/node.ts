import { startHttpApi } from '@bazaar/node/api/http-api'
import { demoProviders } from '@bazaar/node/demo/run-demo'
import { startLocalMarket } from '@bazaar/node/local-market'
import { JobTracker } from '@bazaar/node/requester/job-tracker'
import type { Command } from 'commander'
import pino from 'pino'
import { ExitCode } from '../exit-codes.ts'

export function registerNodeCommand(program: Command): void {
  const node = program.command('node').description('Run a Bazaar node')
  node
    .command('start')
    .description('Start a requester node with its HTTP API')
    .option(
      '--local',
      'also start an embedded chain and 3 local provider nodes: a whole market on this machine',
    )
    .option('--api-port <port>', 'HTTP API port on 127.0.0.1', '8080')
    .option(
      '--rpc-url <url>',
      'settle on this JSON-RPC chain (e.g. from `bazaar devnet`) instead of an embedded one',
    )
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar node start --local                 # market + API at http://127.0.0.1:8080
  $ bazaar job run examples/specs/wordcount.yaml   # in another terminal

Stop with Ctrl-C: jobs in flight finish settling first.`,
    )
    .action(async (opts: { local?: boolean; apiPort: string; rpcUrl?: string; logLevel: string }) => {
      if (!opts.local) {
        console.error(
          'error: only --local is available so far (a standalone node with its own keystore is not built yet)',
        )
        console.error('hint: bazaar node start --local')
        process.exit(ExitCode.Usage)
      }
      const port = Number(opts.apiPort)
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        console.error('error: --api-port must be an integer between 0 and 65535')
        process.exit(ExitCode.Usage)
      }
      const logger = pino({ level: opts.logLevel }, pino.destination(2))
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
          tracker,
          requester: requester.requester!,
          store: requester.store,
          chain: requester.chain,
          network: requester.network,
          logger,
          balance: () => market.admin.balanceOf(requester.chain.address),
          stakeOf: (provider) => market.admin.stakeOf(provider),
        },
        { port },
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
    })
}
