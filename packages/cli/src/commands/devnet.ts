import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  createChainClients,
  deployBazaar,
  devAccounts,
  serveJsonRpc,
  startEmbeddedChain,
  writeDeployment,
} from '@bazaar/chain'
import { parseTokens } from '@bazaar/protocol'
import type { Command } from 'commander'
import { ExitCode } from '../exit-codes.ts'

export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description(
      'Serve the embedded EVM chain as JSON-RPC on 127.0.0.1, with the Bazaar contracts deployed, so several processes share one chain',
    )
    .option('--port <port>', 'TCP port on 127.0.0.1', '8545')
    .option(
      '--deployment <file>',
      'where to write the deployment file (default: in the temp folder, named by port)',
    )
    .addHelpText(
      'after',
      `
The chain lives in memory and ends when this command stops (Ctrl-C or SIGTERM); the deployment
file is removed then. Account 0 deployed the contracts: it is their admin and the token faucet.
Accounts are the well-known Hardhat test keys: never send real funds to them.

Examples:
  $ bazaar devnet                                   # http://127.0.0.1:8545
  $ bazaar demo --rpc-url http://127.0.0.1:8545     # in another terminal`,
    )
    .action(async (opts: { port: string; deployment?: string }) => {
      const port = Number(opts.port)
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        console.error('error: --port must be an integer between 0 and 65535')
        process.exit(ExitCode.Usage)
      }
      const chain = await startEmbeddedChain({ accounts: 10 })
      const server = await serveJsonRpc(chain.provider, { port })
      const deployer = await createChainClients({
        provider: chain.provider,
        privateKey: chain.accounts[0]!.privateKey,
        chainId: chain.chainId,
      })
      // Short delays: a devnet is for trying the whole life of a job in minutes.
      const deployment = await deployBazaar(deployer, {
        minStake: parseTokens('10'),
        minCollateral: parseTokens('1'),
        challengeWindow: 60,
        unbondingDelay: 60,
        jailDuration: 300,
      })
      const boundPort = new URL(server.url).port
      const file = resolve(opts.deployment ?? join(tmpdir(), 'bazaar-devnet', `deployment-${boundPort}.json`))
      await writeDeployment(file, deployment)
      console.log(`Bazaar devnet: chain id ${chain.chainId}, JSON-RPC at ${server.url}`)
      console.log(`  token ${deployment.token}  registry ${deployment.registry}  market ${deployment.market}`)
      console.log(`  deployment file: ${file}`)
      for (const [i, account] of devAccounts(3).entries()) console.log(`  account ${i}: ${account.address}`)
      console.log('Stop with Ctrl-C.')
      const stop = async () => {
        await rm(file, { force: true })
        await server.close()
        await chain.close()
        process.exit(ExitCode.Ok)
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}
