import assert from 'node:assert/strict'
import {
  type BazaarContracts,
  ChainError,
  createBazaarContracts,
  createChainClients,
  type Deployment,
  deployBazaar,
  type EmbeddedChain,
  startEmbeddedChain,
} from '@bazaar/chain'
import { type Address, type Hex, parseEther, toHex } from 'viem'

export const MIN_STAKE = parseEther('100')
export const COLLATERAL = parseEther('10')
export const CHALLENGE_WINDOW = 3600n
export const FAUCET = parseEther('1000000')

export interface Fixture {
  chain: EmbeddedChain
  deployment: Deployment
  deployer: BazaarContracts
  requester: BazaarContracts
  provider: BazaarContracts
  provider2: BazaarContracts
  stranger: BazaarContracts
  /** Every holder of tokens, for conservation checks. */
  holders: Address[]
  close(): Promise<void>
}

/**
 * A fresh embedded chain with the contracts deployed, a funded requester, two staked providers
 * (both approved the market and registry) and a funded stranger.
 */
export async function setupFixture(): Promise<Fixture> {
  const chain = await startEmbeddedChain({ accounts: 6 })
  const facades: BazaarContracts[] = []
  const [deployerKey, ...others] = chain.accounts
  const deployerClients = await createChainClients({
    provider: chain.provider,
    privateKey: deployerKey!.privateKey,
    chainId: chain.chainId,
  })
  const deployment = await deployBazaar(deployerClients, {
    minStake: MIN_STAKE,
    collateralPerJob: COLLATERAL,
    challengeWindow: CHALLENGE_WINDOW,
  })
  facades.push(createBazaarContracts({ clients: deployerClients, deployment }))
  for (const account of others.slice(0, 4)) {
    const clients = await createChainClients({
      provider: chain.provider,
      privateKey: account.privateKey,
      chainId: chain.chainId,
    })
    facades.push(createBazaarContracts({ clients, deployment }))
  }
  const [deployer, requester, provider, provider2, stranger] = facades as [
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
  ]
  for (const user of [requester, provider, provider2, stranger]) {
    await deployer.mint(user.address, FAUCET)
    await user.approve(deployment.market, FAUCET)
  }
  for (const p of [provider, provider2]) {
    await p.approve(deployment.registry, MIN_STAKE)
    await p.stake(MIN_STAKE)
  }
  return {
    chain,
    deployment,
    deployer,
    requester,
    provider,
    provider2,
    stranger,
    holders: [deployer, requester, provider, provider2, stranger].map((f) => f.address),
    close: () => chain.close(),
  }
}

/** Asserts that `promise` rejects with a ChainError naming the custom error `errorName`. */
export async function assertRevert(promise: Promise<unknown>, errorName: string): Promise<ChainError> {
  let caught: unknown
  try {
    await promise
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof ChainError, `expected ChainError, got ${String(caught)}`)
  assert.equal(caught.errorName, errorName, caught.message)
  assert.match(caught.message, new RegExp(errorName))
  assert.equal(caught.code, 'E_CHAIN')
  return caught
}

/** Deterministic 32-byte value for test data. */
export function bytes32(label: string): Hex {
  return toHex(label, { size: 32 })
}
