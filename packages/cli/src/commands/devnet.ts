import { devAccounts, serveJsonRpc, startEmbeddedChain } from '@bazaar/chain'
import type { Command } from 'commander'
import { ExitCode } from '../exit-codes.ts'

export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('Serve the embedded EVM chain as JSON-RPC on 127.0.0.1 so several processes share one chain')
    .option('--port <port>', 'TCP port on 127.0.0.1', '8545')
    .addHelpText(
      'after',
      `
The chain lives in memory and ends when this command stops (Ctrl-C or SIGTERM).
Accounts are the well-known Hardhat test keys: never send real funds to them.

Examples:
  $ bazaar devnet                                   # http://127.0.0.1:8545
  $ bazaar demo --rpc-url http://127.0.0.1:8545     # in another terminal`,
    )
    .action(async (opts: { port: string }) => {
      const port = Number(opts.port)
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        console.error('error: --port must be an integer between 0 and 65535')
        process.exit(ExitCode.Usage)
      }
      const chain = await startEmbeddedChain({ accounts: 10 })
      const server = await serveJsonRpc(chain.provider, { port })
      console.log(`Bazaar devnet: chain id ${chain.chainId}, JSON-RPC at ${server.url}`)
      for (const [i, account] of devAccounts(3).entries()) console.log(`  account ${i}: ${account.address}`)
      console.log('Stop with Ctrl-C.')
      const stop = async () => {
        await server.close()
        await chain.close()
        process.exit(ExitCode.Ok)
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}
