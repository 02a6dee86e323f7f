import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  createChainClients,
  DEFAULT_COLLATERAL_BPS,
  DEFAULT_JAIL_DURATION,
  DEFAULT_MAX_FAULTS,
  DEFAULT_REPUTATION_HALF_LIFE,
  DEFAULT_UNBONDING_DELAY,
  decryptKeystore,
  deployBazaar,
  KeystoreError,
  writeDeployment,
} from '@bazaar/chain'
import { parseTokens } from '@bazaar/protocol'
import { type Command, InvalidArgumentError } from 'commander'
import { type Address, type Hex, isAddress, isHex } from 'viem'
import { ExitCode } from '../exit-codes.ts'

interface DeployOptions {
  rpcUrl: string
  keystore?: string
  passwordFile?: string
  out?: string
  token?: string
  minStake: string
  minCollateral: string
  collateralBps: number
  challengeWindow: number
  unbondingDelay: number
  maxFaults: number
  jailDuration: number
  reputationHalfLife: number
  feeBps: number
  treasury?: string
  json?: boolean
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`)
    }
    return n
  }
}

function tokens(value: string): string {
  try {
    parseTokens(value)
  } catch {
    throw new InvalidArgumentError('must be an amount of BZR such as 10 or 0.5')
  }
  return value
}

function address(value: string): string {
  if (!isAddress(value)) throw new InvalidArgumentError('must be a 0x address')
  return value
}

function usage(message: string): never {
  console.error(`error: ${message}`)
  process.exit(ExitCode.Usage)
}

/**
 * The deployer key: an Ethereum V3 keystore (password from --password-file or
 * BAZAAR_PASSWORD, or the older BAZAAR_KEYSTORE_PASSWORD), else BAZAAR_PRIVATE_KEY. Never from a flag, so keys stay out of
 * shell history and process lists.
 */
async function loadKey(opts: DeployOptions): Promise<Hex> {
  if (opts.keystore) {
    const password = opts.passwordFile
      ? (await readFile(opts.passwordFile, 'utf8')).replace(/\r?\n$/, '')
      : (process.env.BAZAAR_PASSWORD ?? process.env.BAZAAR_KEYSTORE_PASSWORD)
    if (password === undefined) usage('--keystore needs --password-file or BAZAAR_PASSWORD')
    try {
      return await decryptKeystore(await readFile(opts.keystore, 'utf8'), password)
    } catch (err) {
      // A wrong password or a file that is not a keystore is bad input, not a failure of ours.
      if (err instanceof KeystoreError) usage(`${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`)
      throw err
    }
  }
  const key = process.env.BAZAAR_PRIVATE_KEY
  if (!key) usage('give the deployer key with --keystore FILE or the BAZAAR_PRIVATE_KEY environment variable')
  const hex = key.startsWith('0x') ? key : `0x${key}`
  if (!isHex(hex) || hex.length !== 66) usage('BAZAAR_PRIVATE_KEY must be 32 bytes of hex')
  return hex
}

export function registerContractsCommand(program: Command): void {
  const contracts = program
    .command('contracts')
    .description('Deploy and inspect the Bazaar settlement contracts')

  contracts
    .command('deploy')
    .description('Deploy token, provider registry and job market to an EVM chain and write a deployment file')
    .requiredOption('--rpc-url <url>', 'JSON-RPC endpoint of the target chain')
    .option('--keystore <file>', 'deployer key as an Ethereum V3 JSON keystore (else BAZAAR_PRIVATE_KEY)')
    .option('--password-file <file>', 'keystore password (else BAZAAR_PASSWORD)')
    .option('--out <file>', 'deployment file to write (default .bazaar/deployment-<chainId>.json)')
    .option(
      '--token <address>',
      'use this ERC-20 with EIP-2612 permit instead of deploying ComputeToken',
      address,
    )
    .option('--min-stake <BZR>', 'active stake a provider needs to be eligible', tokens, '10')
    .option('--min-collateral <BZR>', 'least collateral locked per awarded job', tokens, '1')
    .option(
      '--collateral-bps <bps>',
      'collateral as basis points of price x maxFuel (default: one full payment; see docs/verification.md)',
      integer(0, 10_000),
      DEFAULT_COLLATERAL_BPS,
    )
    .option(
      '--challenge-window <seconds>',
      'after a reveal, only the requester may finalize',
      integer(0, 2 ** 32 - 1),
      600,
    )
    .option(
      '--unbonding-delay <seconds>',
      'wait between unbond request and withdrawal',
      integer(0, 2 ** 32 - 1),
      DEFAULT_UNBONDING_DELAY,
    )
    .option(
      '--max-faults <n>',
      'faults that jail a provider (0: never)',
      integer(0, 65_535),
      DEFAULT_MAX_FAULTS,
    )
    .option(
      '--jail-duration <seconds>',
      'how long a jailed provider is ineligible',
      integer(0, 2 ** 32 - 1),
      DEFAULT_JAIL_DURATION,
    )
    .option(
      '--reputation-half-life <seconds>',
      'reputation decay half-life (0: no decay)',
      integer(0, 2 ** 32 - 1),
      DEFAULT_REPUTATION_HALF_LIFE,
    )
    .option('--fee-bps <bps>', 'protocol fee on provider payments, at most 1000', integer(0, 1_000), 0)
    .option('--treasury <address>', 'fee recipient (default: the deployer when --fee-bps > 0)', address)
    .option('--json', 'print the deployment as JSON')
    .addHelpText(
      'after',
      `
The deployer becomes admin of the registry and market (fee, collateral policy, verifier
roles) and, when a token is deployed, its owner (the faucet).

Examples:
  $ bazaar devnet &                  # a local chain; it deploys its own suite too
  $ BAZAAR_PRIVATE_KEY=0x... bazaar contracts deploy --rpc-url http://127.0.0.1:8545
  $ bazaar contracts deploy --rpc-url https://rpc.example --keystore key.json \\
      --password-file pw.txt --fee-bps 100 --out deployments/mainnet.json`,
    )
    .action(async (opts: DeployOptions) => {
      const privateKey = await loadKey(opts)
      const clients = await createChainClients({ rpcUrl: opts.rpcUrl, privateKey })
      if (!opts.json) {
        console.log(
          `Deploying to chain ${clients.chainId} at ${opts.rpcUrl} from ${clients.account.address}...`,
        )
      }
      const deployment = await deployBazaar(clients, {
        ...(opts.token ? { token: opts.token as Address } : {}),
        minStake: parseTokens(opts.minStake),
        minCollateral: parseTokens(opts.minCollateral),
        collateralBps: opts.collateralBps,
        challengeWindow: opts.challengeWindow,
        unbondingDelay: opts.unbondingDelay,
        maxFaults: opts.maxFaults,
        jailDuration: opts.jailDuration,
        reputationHalfLife: opts.reputationHalfLife,
        feeBps: opts.feeBps,
        ...(opts.treasury ? { treasury: opts.treasury as Address } : {}),
      })
      const out = resolve(opts.out ?? `.bazaar/deployment-${deployment.chainId}.json`)
      await writeDeployment(out, deployment)
      if (opts.json) {
        console.log(JSON.stringify({ ...deployment, file: out }))
        return
      }
      console.log(`  token     ${deployment.token}`)
      console.log(`  registry  ${deployment.registry}`)
      console.log(`  market    ${deployment.market}`)
      console.log(`Deployment file: ${out}`)
    })
}
