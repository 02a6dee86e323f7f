import assert from 'node:assert/strict'
import {
  type BazaarContracts,
  ChainError,
  type CreateJobParams,
  createBazaarContracts,
  createChainClients,
  type Deployment,
  type DeployParams,
  deployBazaar,
  type EmbeddedChain,
  resultCommitment,
  startEmbeddedChain,
} from '@bazaar/chain'
import {
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  keccak256,
  parseEther,
  type TransactionReceipt,
  toHex,
} from 'viem'

export const MIN_STAKE = parseEther('100')
export const MIN_COLLATERAL = parseEther('10')
export const CHALLENGE_WINDOW = 3600n
export const UNBONDING_DELAY = 7 * 24 * 3600
export const JAIL_DURATION = 24 * 3600
export const MAX_FAULTS = 3
export const HALF_LIFE = 30 * 24 * 3600
export const FAUCET = parseEther('1000000')
export const AWARD_WINDOW = 600n
export const COMMIT_WINDOW = 600n
export const REVEAL_WINDOW = 300n
export const MAX_PRICE = 1_000_000_000n
export const MAX_FUEL = 5_000_000n

export const MARKET_ROLE = keccak256(toHex('MARKET_ROLE'))
export const SLASHER_ROLE = keccak256(toHex('SLASHER_ROLE'))
export const VERIFIER_ROLE = keccak256(toHex('VERIFIER_ROLE'))

export interface Fixture {
  chain: EmbeddedChain
  deployment: Deployment
  deployer: BazaarContracts
  requester: BazaarContracts
  provider: BazaarContracts
  provider2: BazaarContracts
  stranger: BazaarContracts
  /** Holds no role at first; tests grant it VERIFIER_ROLE or registry roles. */
  verifier: BazaarContracts
  /** `extraProviders` more providers, funded and staked like `provider`. */
  extra: BazaarContracts[]
  treasury: Address
  /** Every holder of tokens, for conservation checks. */
  holders: Address[]
  /** Block time now. */
  now(): Promise<bigint>
  /** Moves block time forward. */
  advance(seconds: bigint | number): Promise<void>
  snapshot(): Promise<Hex>
  revert(id: Hex): Promise<void>
  close(): Promise<void>
}

export interface FixtureInit {
  deploy?: Partial<DeployParams>
  chainId?: number
  /** What provider and provider2 stake at setup (default MIN_STAKE). */
  stake?: bigint
  /** More staked providers (for referee pools), in `extra`. */
  extraProviders?: number
}

/**
 * A fresh embedded chain with the contracts deployed, a funded requester (market approved), two
 * providers staked at MIN_STAKE (registry approved for a top-up), a funded stranger and an
 * unprivileged verifier account.
 */
export async function setupFixture(init: FixtureInit = {}): Promise<Fixture> {
  const extraCount = init.extraProviders ?? 0
  const chain = await startEmbeddedChain({
    accounts: 8 + extraCount,
    ...(init.chainId ? { chainId: init.chainId } : {}),
  })
  const [deployerKey, ...others] = chain.accounts
  const treasury = chain.accounts[7]!.address
  const deployerClients = await createChainClients({
    provider: chain.provider,
    privateKey: deployerKey!.privateKey,
    chainId: chain.chainId,
  })
  const deployment = await deployBazaar(deployerClients, {
    minStake: MIN_STAKE,
    minCollateral: MIN_COLLATERAL,
    challengeWindow: CHALLENGE_WINDOW,
    unbondingDelay: UNBONDING_DELAY,
    jailDuration: JAIL_DURATION,
    maxFaults: MAX_FAULTS,
    reputationHalfLife: HALF_LIFE,
    ...init.deploy,
  })
  const facades = [createBazaarContracts({ clients: deployerClients, deployment })]
  for (const account of [...others.slice(0, 5), ...others.slice(7, 7 + extraCount)]) {
    const clients = await createChainClients({
      provider: chain.provider,
      privateKey: account.privateKey,
      chainId: chain.chainId,
    })
    facades.push(createBazaarContracts({ clients, deployment }))
  }
  const [deployer, requester, provider, provider2, stranger, verifier, ...extra] = facades as [
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
    BazaarContracts,
    ...BazaarContracts[],
  ]
  if (!init.deploy?.token) {
    for (const user of [requester, provider, provider2, stranger, verifier, ...extra]) {
      await deployer.mint(user.address, FAUCET)
      await user.approve(deployment.market, FAUCET)
    }
    for (const p of [provider, provider2, ...extra]) {
      await p.approve(deployment.registry, FAUCET)
      await p.stake(init.stake ?? MIN_STAKE)
    }
  }
  const request = (method: string, params: unknown[] = []) => chain.provider.request({ method, params })
  return {
    chain,
    deployment,
    deployer,
    requester,
    provider,
    provider2,
    stranger,
    verifier,
    extra,
    treasury,
    holders: [deployer, requester, provider, provider2, stranger, verifier, ...extra]
      .map((x) => x.address)
      .concat(treasury),
    now: () => chain.latestTimestamp(),
    advance: (seconds) => chain.increaseTime(seconds),
    snapshot: async () => (await request('evm_snapshot')) as Hex,
    async revert(id) {
      const ok = await request('evm_revert', [id])
      assert.equal(ok, true, 'evm_revert failed')
    },
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
  assert.ok(caught instanceof ChainError, `expected ChainError ${errorName}, got ${String(caught)}`)
  assert.equal(caught.errorName, errorName, caught.message)
  assert.match(caught.message, new RegExp(errorName))
  assert.equal(caught.code, 'E_CHAIN')
  return caught
}

/** Deterministic 32-byte value for test data. */
export function bytes32(label: string): Hex {
  return toHex(label, { size: 32 })
}

/**
 * Sends any contract call as `who` (for functions the facade does not wrap: admin, roles,
 * test contracts) and waits for it; reverts become ChainError like the facade's.
 */
export async function send<
  const abi extends Abi,
  name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  who: BazaarContracts,
  call: {
    address: Address
    abi: abi
    functionName: name
    args?: ContractFunctionArgs<abi, 'nonpayable' | 'payable', name>
  },
): Promise<TransactionReceipt> {
  try {
    const hash = await who.clients.walletClient.writeContract(
      call as Parameters<typeof who.clients.walletClient.writeContract>[0],
    )
    const receipt = await who.clients.publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new ChainError(`${call.functionName} reverted on-chain`)
    return receipt
  } catch (err) {
    throw ChainError.from(err, String(call.functionName))
  }
}

/** Default job terms with deadlines from block time `now`. */
export function jobTerms(now: bigint, overrides: Partial<CreateJobParams> = {}): CreateJobParams {
  return {
    specHash: bytes32('spec'),
    maxPricePerFuel: MAX_PRICE,
    maxFuel: MAX_FUEL,
    bidDeadline: now + AWARD_WINDOW / 2n,
    awardDeadline: now + AWARD_WINDOW,
    commitWindow: COMMIT_WINDOW,
    revealWindow: REVEAL_WINDOW,
    ...overrides,
  }
}

/** Job-level helpers over a fixture: open, award, commit, reveal. */
export function jobs(f: Fixture) {
  const open = async (overrides: Partial<CreateJobParams> = {}) =>
    f.requester.createJob(jobTerms(await f.now(), overrides))
  const bid = async (provider: BazaarContracts, jobId: bigint, pricePerFuel = MAX_PRICE / 2n) =>
    provider.signBid({ jobId, pricePerFuel, expiry: (await f.now()) + 300n })
  const awarded = async (provider = f.provider, pricePerFuel = MAX_PRICE / 2n) => {
    const { jobId } = await open()
    await f.requester.award(await bid(provider, jobId, pricePerFuel))
    return jobId
  }
  const committed = async (
    provider = f.provider,
    fuelUsed = 1234n,
    salt = bytes32('salt'),
    resultHash = bytes32('result'),
  ) => {
    const jobId = await awarded(provider)
    await provider.commitResult(
      jobId,
      resultCommitment({ resultHash, fuelUsed, salt, provider: provider.address }),
    )
    return { jobId, resultHash, fuelUsed, salt }
  }
  const revealed = async (provider = f.provider, fuelUsed = 1234n) => {
    const job = await committed(provider, fuelUsed)
    await provider.revealResult(job)
    return job
  }
  return { open, bid, awarded, committed, revealed }
}

/** Sum of all holders' balances equals the supply; nothing appears or disappears. */
export async function assertConserved(f: Fixture, extra: Address[] = []): Promise<void> {
  const holders: Address[] = [...f.holders, f.deployment.market, f.deployment.registry, ...extra]
  const balances = await Promise.all(holders.map((h) => f.deployer.balanceOf(h)))
  assert.equal(
    balances.reduce((a, b) => a + b, 0n),
    await f.deployer.totalSupply(),
  )
}
