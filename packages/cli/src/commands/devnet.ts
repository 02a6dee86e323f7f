import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  type Deployment,
  deployBazaar,
  devAccounts,
  serveJsonRpc,
  startEmbeddedChain,
  writeDeployment,
} from '@bazaar/chain'
import { connectChain } from '@bazaar/node/daemon/connect-chain'
import { formatTokens, parseTokens } from '@bazaar/protocol'
import { type Command, InvalidArgumentError } from 'commander'
import { type Address, formatEther, getAddress, isAddress, parseEther } from 'viem'
import { type ChainOptions, requireDeployment, withChainOptions } from '../chain-options.ts'
import { NotNowError } from '../errors.ts'
import { ExitCode } from '../exit-codes.ts'

interface FundAmounts {
  eth: string
  tokens: string
}

function addressArg(value: string, previous: Address[] = []): Address[] {
  if (!isAddress(value)) throw new InvalidArgumentError(`not a 0x address: ${value}`)
  return [...previous, getAddress(value)]
}

function decimal(value: string): string {
  if (!/^\d+(\.\d+)?$/.test(value))
    throw new InvalidArgumentError('must be a decimal amount such as 10 or 0.5')
  return value
}

/**
 * The devnet faucet is account 0 of the well-known test mnemonic: it deployed the contracts,
 * so it owns the token (may mint) and holds 10 000 native units. Sends native currency for gas
 * and mints compute tokens.
 */
async function fund(faucet: BazaarContracts, to: Address[], amounts: FundAmounts) {
  const eth = parseEther(amounts.eth)
  const tokens = parseTokens(amounts.tokens)
  const funded: { address: Address; native: string; tokens: string }[] = []
  for (const address of to) {
    if (eth > 0n) {
      const hash = await faucet.clients.walletClient.sendTransaction({ to: address, value: eth })
      await faucet.clients.publicClient.waitForTransactionReceipt({ hash })
    }
    if (tokens > 0n) await faucet.mint(address, tokens)
    funded.push({ address, native: eth.toString(), tokens: tokens.toString() })
  }
  return funded
}

function faucetFor(deployment: Deployment): `0x${string}` {
  const [account0] = devAccounts(1)
  if (getAddress(deployment.deployer) !== getAddress(account0!.address)) {
    throw new NotNowError(
      `this chain's contracts were deployed by ${deployment.deployer}, not by \`bazaar devnet\``,
      {
        hint: 'the devnet faucet only works on a chain started by `bazaar devnet`; elsewhere, ask the token owner',
      },
    )
  }
  return account0!.privateKey
}

export function registerDevnetCommand(program: Command): void {
  const devnet = program
    .command('devnet')
    .description(
      'Serve the embedded EVM chain as JSON-RPC on 127.0.0.1, with the Bazaar contracts deployed, so several processes share one chain',
    )
    .option('--port <port>', 'TCP port on 127.0.0.1 (0: any free port)', '8545')
    .option(
      '--deployment <file>',
      'where to write the deployment file (default: in the temp folder, named by port)',
    )
    .option(
      '--fund <address>',
      'give this account native currency and compute tokens at start (repeatable)',
      addressArg,
    )
    .option('--fund-eth <amount>', 'native currency per funded account', decimal, '10')
    .option('--fund-tokens <BZR>', 'compute tokens per funded account', decimal, '1000')
    .option('--json', 'print one JSON line {rpcUrl, chainId, deployment, ...} once ready')
    .addHelpText(
      'after',
      `
The chain lives in memory and ends when this command stops (Ctrl-C or SIGTERM); the deployment
file is removed then. Account 0 deployed the contracts: it is their admin and the token faucet
(\`bazaar devnet fund\` uses it). Accounts are the well-known Hardhat test keys: never send
real funds to them.

Examples:
  $ bazaar devnet                                   # http://127.0.0.1:8545
  $ bazaar devnet --port 0 --json --fund 0xAbc...   # any free port, one funded account
  $ bazaar devnet fund 0xAbc... --deployment /tmp/bazaar-devnet/deployment-8545.json
  $ bazaar demo --rpc-url http://127.0.0.1:8545     # in another terminal`,
    )
    .action(
      async (opts: {
        port: string
        deployment?: string
        fund?: Address[]
        fundEth: string
        fundTokens: string
        json?: boolean
      }) => {
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
        const file = resolve(
          opts.deployment ?? join(tmpdir(), 'bazaar-devnet', `deployment-${boundPort}.json`),
        )
        await writeDeployment(file, deployment)
        const funded = await fund(createBazaarContracts({ clients: deployer, deployment }), opts.fund ?? [], {
          eth: opts.fundEth,
          tokens: opts.fundTokens,
        })
        const accounts = devAccounts(3).map((a) => a.address)
        if (opts.json) {
          console.log(
            JSON.stringify({ rpcUrl: server.url, deploymentFile: file, ...deployment, funded, accounts }),
          )
        } else {
          console.log(`Bazaar devnet: chain id ${chain.chainId}, JSON-RPC at ${server.url}`)
          console.log(
            `  token ${deployment.token}  registry ${deployment.registry}  market ${deployment.market}`,
          )
          console.log(`  deployment file: ${file}`)
          for (const [i, account] of accounts.entries()) console.log(`  account ${i}: ${account}`)
          for (const f of funded)
            console.log(
              `  funded ${f.address}: ${formatEther(BigInt(f.native))} native, ${formatTokens(BigInt(f.tokens))}`,
            )
          console.log('Stop with Ctrl-C.')
        }
        const stop = async () => {
          await rm(file, { force: true })
          await server.close()
          await chain.close()
          process.exit(ExitCode.Ok)
        }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      },
    )

  withChainOptions(
    devnet
      .command('fund <address...>')
      .description('Faucet of a running devnet: send native currency (for gas) and mint compute tokens')
      .option('--eth <amount>', 'native currency per account', decimal, '10')
      .option('--tokens <BZR>', 'compute tokens per account', decimal, '1000')
      .option('--json', 'print what was sent as JSON'),
  )
    .addHelpText(
      'after',
      `
Works only on a chain started by \`bazaar devnet\` (its contracts deployed by test account 0).

Example:
  $ bazaar devnet fund $(bazaar wallet address --keystore p.json) --deployment /tmp/bazaar-devnet/deployment-8545.json`,
    )
    .action(async (addresses: string[], _local: unknown, command: Command) => {
      // `devnet` has its own --deployment and --json; commander hands them to the parent.
      const opts = command.optsWithGlobals<ChainOptions & FundAmounts>()
      const to = addresses.reduce<Address[]>((list, a) => addressArg(a, list), [])
      const deployment = await requireDeployment(opts)
      const faucet = await connectChain({
        rpcUrl: opts.rpcUrl,
        deployment,
        privateKey: faucetFor(deployment),
      })
      const funded = await fund(faucet, to, opts)
      if (opts.json) console.log(JSON.stringify({ funded }))
      else for (const f of funded) console.log(`funded ${f.address}: ${opts.eth} native, ${opts.tokens} BZR`)
    })
}
