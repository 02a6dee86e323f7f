import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  type Deployment,
} from '@bazaar/chain'
import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'
import { type Hex, http } from 'viem'
import { generatePrivateKey } from 'viem/accounts'

/** The JSON-RPC endpoint did not answer (refused, timed out, not JSON-RPC). */
export class ChainUnreachableError extends BaseError {
  override name = 'ChainUnreachableError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.ChainError, message, options)
  }
}

/** The chain answers, but the deployment file does not describe it (other chain id, no contracts). */
export class DeploymentMismatchError extends BaseError {
  override name = 'DeploymentMismatchError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.InvalidMessage, message, options)
  }
}

export interface ConnectChainInit {
  rpcUrl: string
  deployment: Deployment
  /** The signer; omitted for read-only use (a throwaway key that never sends anything). */
  privateKey?: Hex
  /** Per-request timeout in ms (default 10 000): a dead endpoint fails instead of hanging. */
  timeoutMs?: number
}

/**
 * Connects to the chain at `rpcUrl` and checks it is the one the deployment file describes:
 * same chain id, contract code at the market address. Fails fast with a typed error when the
 * endpoint is down, so commands and the daemon never hang on a dead URL.
 */
export async function connectChain(init: ConnectChainInit): Promise<BazaarContracts> {
  const timeout = init.timeoutMs ?? 10_000
  // One attempt per call: retries with backoff would turn "connection refused" into a long wait.
  const transport = http(init.rpcUrl, { retryCount: 0, timeout })
  let clients: Awaited<ReturnType<typeof createChainClients>>
  try {
    clients = await createChainClients({
      transport,
      rpcUrl: init.rpcUrl,
      privateKey: init.privateKey ?? generatePrivateKey(),
    })
  } catch (cause) {
    throw new ChainUnreachableError(`cannot reach the chain at ${init.rpcUrl}`, {
      cause,
      hint: 'start one with `bazaar devnet`, or check --rpc-url (BAZAAR_RPC_URL)',
      details: {
        rpcUrl: init.rpcUrl,
        reason: cause instanceof Error ? cause.message.split('\n')[0] : String(cause),
      },
    })
  }
  const { deployment } = init
  if (clients.chainId !== deployment.chainId) {
    throw new DeploymentMismatchError(
      `the deployment file is for chain ${deployment.chainId}, but ${init.rpcUrl} is chain ${clients.chainId}`,
      {
        hint: 'pass the deployment file written for this chain (by `bazaar devnet` or `bazaar contracts deploy`)',
      },
    )
  }
  let code: Hex | undefined
  try {
    code = await clients.publicClient.getCode({ address: deployment.market })
  } catch (cause) {
    throw new ChainUnreachableError(`cannot reach the chain at ${init.rpcUrl}`, { cause })
  }
  if (!code || code === '0x') {
    throw new DeploymentMismatchError(`no JobMarket contract at ${deployment.market} on ${init.rpcUrl}`, {
      hint: 'the chain was restarted or the file is stale: use the deployment file the running devnet printed',
    })
  }
  return createBazaarContracts({ clients, deployment })
}
