import {
  computeTokenAbi,
  computeTokenBytecode,
  jobMarketAbi,
  jobMarketBytecode,
  providerRegistryAbi,
  providerRegistryBytecode,
} from '@bazaar/contracts'
import type { Address, Hash } from 'viem'
import { ChainError } from './chain-error.ts'
import type { ChainClients } from './clients.ts'

/** Where the Bazaar contracts live on one chain. Plain JSON (no bigint). */
export interface Deployment {
  chainId: number
  token: Address
  registry: Address
  market: Address
  /** Block of the first deployment transaction: where event scans start. */
  deployedAtBlock: number
}

export interface DeployParams {
  /** Stake a provider needs to be eligible, in token base units. */
  minStake: bigint
  /** Stake locked from the awarded provider per job, in token base units. */
  collateralPerJob: bigint
  /** Seconds after a reveal during which only the requester may finalize. */
  challengeWindow: bigint | number
}

/**
 * Deploys ComputeToken, ProviderRegistry and JobMarket from the clients' account (which becomes
 * the token owner, i.e. the faucet) and wires the registry to the market.
 */
export async function deployBazaar(clients: ChainClients, params: DeployParams): Promise<Deployment> {
  const { walletClient, publicClient, account } = clients
  const confirm = async (label: string, hash: Hash) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new ChainError(`${label} reverted`, { details: { hash } })
    return receipt
  }
  const deployed = async (label: string, hash: Hash) => {
    const receipt = await confirm(label, hash)
    if (!receipt.contractAddress) throw new ChainError(`${label}: no contract address in receipt`)
    return { address: receipt.contractAddress, blockNumber: receipt.blockNumber }
  }

  try {
    const token = await deployed(
      'deploy ComputeToken',
      await walletClient.deployContract({
        abi: computeTokenAbi,
        bytecode: computeTokenBytecode,
        args: [account.address],
      }),
    )
    const registry = await deployed(
      'deploy ProviderRegistry',
      await walletClient.deployContract({
        abi: providerRegistryAbi,
        bytecode: providerRegistryBytecode,
        args: [token.address, params.minStake, account.address],
      }),
    )
    const market = await deployed(
      'deploy JobMarket',
      await walletClient.deployContract({
        abi: jobMarketAbi,
        bytecode: jobMarketBytecode,
        args: [token.address, registry.address, params.collateralPerJob, BigInt(params.challengeWindow)],
      }),
    )
    await confirm(
      'ProviderRegistry.setMarket',
      await walletClient.writeContract({
        address: registry.address,
        abi: providerRegistryAbi,
        functionName: 'setMarket',
        args: [market.address],
      }),
    )
    return {
      chainId: clients.chainId,
      token: token.address,
      registry: registry.address,
      market: market.address,
      deployedAtBlock: Number(token.blockNumber),
    }
  } catch (err) {
    throw ChainError.from(err, 'deployBazaar')
  }
}
