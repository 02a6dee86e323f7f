import {
  type Chain,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  type Hex,
  http,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

/** Minimal EIP-1193 provider (the embedded chain's provider, a browser wallet, ...). */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown }): Promise<unknown>
}

export interface ChainClientsInit {
  /** One of: a viem transport, an EIP-1193 provider, or a JSON-RPC URL (`--rpc-url`). */
  transport?: Transport
  provider?: Eip1193Provider
  rpcUrl?: string
  /** Key of the signing account (a local account: viem signs, the node only relays). */
  privateKey: Hex
  /** Chain id; asked from the node when omitted. */
  chainId?: number
  /** Block polling interval in ms (viem's default when omitted). */
  pollingInterval?: number
}

export interface ChainClients {
  chainId: number
  chain: Chain
  account: PrivateKeyAccount
  publicClient: PublicClient<Transport, Chain>
  walletClient: WalletClient<Transport, Chain, PrivateKeyAccount>
}

/** viem public and wallet clients for one signer, over any transport. */
export async function createChainClients(init: ChainClientsInit): Promise<ChainClients> {
  const transport = resolveTransport(init)
  const pollingOptions = init.pollingInterval === undefined ? {} : { pollingInterval: init.pollingInterval }
  const chainId = init.chainId ?? (await createPublicClient({ transport, ...pollingOptions }).getChainId())
  const chain = defineChain({
    id: chainId,
    name: `bazaar-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: init.rpcUrl === undefined ? [] : [init.rpcUrl] } },
  })
  const account = privateKeyToAccount(init.privateKey)
  const publicClient = createPublicClient({ chain, transport, ...pollingOptions })
  const walletClient = createWalletClient({ chain, transport, account, ...pollingOptions })
  return { chainId, chain, account, publicClient, walletClient }
}

function resolveTransport(init: ChainClientsInit): Transport {
  if (init.transport) return init.transport
  // No retries: viem wraps an EIP-1193 error it does not know (e.g. EDR's revert, code 3) as
  // UnknownRpcError and retries it with backoff, which turns every revert into a ~1 s wait.
  if (init.provider) return custom(init.provider, { retryCount: 0 })
  if (init.rpcUrl !== undefined) return http(init.rpcUrl)
  throw new TypeError('createChainClients needs one of transport, provider or rpcUrl')
}
