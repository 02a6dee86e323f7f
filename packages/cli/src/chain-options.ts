import { type BazaarContracts, type Deployment, DeploymentFileError, loadDeployment } from '@bazaar/chain'
import { connectChain } from '@bazaar/node/daemon/connect-chain'
import { NODE_DEFAULTS } from '@bazaar/node/daemon/node-config'
import { ErrorCode } from '@bazaar/protocol'
import type { Command } from 'commander'
import { type KeyOptions, unlockKey } from './keys.ts'

export interface ChainOptions extends KeyOptions {
  rpcUrl: string
  deployment?: string
  json?: boolean
}

/** --rpc-url and --deployment (with their environment variables), shared by chain commands. */
export function withChainOptions(command: Command): Command {
  return command
    .option(
      '--rpc-url <url>',
      'JSON-RPC endpoint of the chain (env BAZAAR_RPC_URL)',
      process.env.BAZAAR_RPC_URL ?? NODE_DEFAULTS.rpcUrl,
    )
    .option(
      '--deployment <file>',
      'deployment file with the contract addresses, as written by `bazaar devnet` or `bazaar contracts deploy` (env BAZAAR_DEPLOYMENT)',
      process.env.BAZAAR_DEPLOYMENT,
    )
}

/** --keystore and --password-file, shared by commands that sign or read the wallet address. */
export function withKeyOptions(command: Command): Command {
  return command
    .option('--keystore <file>', 'encrypted keystore (env BAZAAR_KEYSTORE; default ~/.bazaar/keystore.json)')
    .option(
      '--password-file <file>',
      'read the keystore password from this file (else env BAZAAR_PASSWORD, else a prompt)',
    )
}

/** The deployment file named by --deployment (or BAZAAR_DEPLOYMENT), loaded and validated. */
export async function requireDeployment(opts: { deployment?: string }): Promise<Deployment> {
  if (!opts.deployment) {
    throw new DeploymentFileError(ErrorCode.NotFound, 'no deployment file given', {
      hint: 'pass --deployment FILE (or set BAZAAR_DEPLOYMENT): `bazaar devnet` and `bazaar contracts deploy` print its path',
    })
  }
  return loadDeployment(opts.deployment)
}

/** The contracts over --rpc-url at the addresses in --deployment; with `sign`, unlocked with the keystore. */
export async function openChain(opts: ChainOptions, sign: boolean): Promise<BazaarContracts> {
  // The file is checked before the password is asked for: a typo should not cost a prompt.
  const deployment = await requireDeployment(opts)
  const privateKey = sign ? (await unlockKey(opts)).privateKey : undefined
  return connectChain({ rpcUrl: opts.rpcUrl, deployment, ...(privateKey ? { privateKey } : {}) })
}
