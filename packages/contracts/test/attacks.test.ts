/**
 * Attacks on the settlement contracts: reentrancy through a hook token, payments refused to
 * block a settlement, bid replay across jobs and chains, early and double finalization,
 * unauthorized slashing and settling, over-priced awards, unstaked providers, copied commitments.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import {
  type BazaarContracts,
  ChainError,
  createBazaarContracts,
  createChainClients,
  deployBazaar,
  type EmbeddedChain,
  resultCommitment,
  startEmbeddedChain,
} from '@bazaar/chain'
import { jobMarketAbi, providerRegistryAbi } from '@bazaar/contracts'
import {
  type Address,
  encodeFunctionData,
  type Hex,
  maxUint256,
  parseEther,
  toFunctionSelector,
  zeroAddress,
} from 'viem'
import {
  hookTokenAbi,
  hookTokenBytecode,
  reentrantActorAbi,
  reentrantActorBytecode,
} from '../src/generated/test-artifacts.ts'
import {
  assertConserved,
  assertRevert,
  bytes32,
  CHALLENGE_WINDOW,
  type Fixture,
  jobs,
  jobTerms,
  MAX_FUEL,
  MAX_PRICE,
  MIN_COLLATERAL,
  MIN_STAKE,
  send,
  setupFixture,
  UNBONDING_DELAY,
} from './fixture.ts'

const REENTRANT_CALL = toFunctionSelector('ReentrancyGuardReentrantCall()')

describe('attacks: reentrancy and refused payments through a hook token', () => {
  let chain: EmbeddedChain
  let deployer: BazaarContracts
  let operator: BazaarContracts
  let eoaRequester: BazaarContracts
  let eoaProvider: BazaarContracts
  let token: Address
  let market: Address
  let registry: Address
  let actor: Address
  let snap: Hex

  /** Makes the actor contract call `target` with `data` (it is the msg.sender there). */
  const asActor = (target: Address, data: Hex) =>
    send(operator, { address: actor, abi: reentrantActorAbi, functionName: 'execute', args: [target, data] })
  const arm = (target: Address, data: Hex) =>
    send(operator, { address: actor, abi: reentrantActorAbi, functionName: 'arm', args: [target, data] })
  const readActor = <F extends 'reentryAttempted' | 'reentrySucceeded' | 'reentryReturn'>(functionName: F) =>
    operator.clients.publicClient.readContract({ address: actor, abi: reentrantActorAbi, functionName })
  const marketCall = (
    functionName: 'cancelJob' | 'finalize' | 'reclaimExpired' | 'claim',
    args: [bigint] | [] = [],
  ) =>
    encodeFunctionData({ abi: jobMarketAbi, functionName, args } as Parameters<typeof encodeFunctionData>[0])
  const balance = (who: Address) => deployer.balanceOf(who)
  const now = () => chain.latestTimestamp()
  const terms = async () => {
    const t = jobTerms(await now(), { maxPricePerFuel: 1_000n, maxFuel: 1_000n })
    return { ...t, commitWindow: Number(t.commitWindow), revealWindow: Number(t.revealWindow) }
  }
  const createJobAsActor = async () => {
    await asActor(
      market,
      encodeFunctionData({ abi: jobMarketAbi, functionName: 'createJob', args: [await terms()] }),
    )
    return deployer.clients.publicClient.readContract({
      address: market,
      abi: jobMarketAbi,
      functionName: 'jobCount',
    })
  }
  const assertReentryBlocked = async () => {
    assert.equal(await readActor('reentryAttempted'), true, 'the hook ran and tried to re-enter')
    assert.equal(await readActor('reentrySucceeded'), false, 're-entry must fail')
    assert.equal((await readActor('reentryReturn')).slice(0, 10), REENTRANT_CALL)
  }

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 5 })
    const facade = async (
      index: number,
      deployment: Parameters<typeof createBazaarContracts>[0]['deployment'],
    ) =>
      createBazaarContracts({
        clients: await createChainClients({
          provider: chain.provider,
          privateKey: chain.accounts[index]!.privateKey,
          chainId: chain.chainId,
        }),
        deployment,
      })
    const deployerClients = await createChainClients({
      provider: chain.provider,
      privateKey: chain.accounts[0]!.privateKey,
      chainId: chain.chainId,
    })
    const deployContract = async (
      abi: typeof hookTokenAbi | typeof reentrantActorAbi,
      bytecode: Hex,
      who = deployerClients,
    ) => {
      const hash = await who.walletClient.deployContract({ abi, bytecode })
      const receipt = await who.publicClient.waitForTransactionReceipt({ hash })
      return receipt.contractAddress!
    }
    token = await deployContract(hookTokenAbi, hookTokenBytecode)
    const deployment = await deployBazaar(deployerClients, {
      token,
      minStake: MIN_STAKE,
      minCollateral: MIN_COLLATERAL,
      challengeWindow: CHALLENGE_WINDOW,
      unbondingDelay: UNBONDING_DELAY,
    })
    market = deployment.market
    registry = deployment.registry
    deployer = createBazaarContracts({ clients: deployerClients, deployment })
    operator = await facade(1, deployment)
    eoaRequester = await facade(2, deployment)
    eoaProvider = await facade(3, deployment)
    actor = await deployContract(reentrantActorAbi, reentrantActorBytecode, operator.clients)
    const mint = (to: Address, amount: bigint) =>
      send(deployer, { address: token, abi: hookTokenAbi, functionName: 'mint', args: [to, amount] })
    for (const who of [actor, eoaRequester.address, eoaProvider.address]) await mint(who, parseEther('1000'))
    await eoaRequester.approve(market, maxUint256)
    await eoaProvider.approve(registry, maxUint256)
    await eoaProvider.stake(MIN_STAKE)
    await asActor(
      token,
      encodeFunctionData({ abi: hookTokenAbi, functionName: 'approve', args: [market, maxUint256] }),
    )
    await asActor(
      token,
      encodeFunctionData({ abi: hookTokenAbi, functionName: 'approve', args: [registry, maxUint256] }),
    )
    await asActor(token, encodeFunctionData({ abi: hookTokenAbi, functionName: 'registerHook' }))
  })
  after(async () => {
    await chain?.close()
  })
  beforeEach(async () => {
    snap = (await chain.provider.request({ method: 'evm_snapshot', params: [] })) as Hex
  })
  afterEach(async () => {
    await chain.provider.request({ method: 'evm_revert', params: [snap] })
  })

  it('blocks a requester re-entering cancelJob from its refund hook (refunded once)', async () => {
    const before = await balance(actor)
    const jobId = await createJobAsActor()
    await arm(market, marketCall('cancelJob', [jobId]))
    await asActor(market, marketCall('cancelJob', [jobId]))
    await assertReentryBlocked()
    assert.equal(await balance(actor), before, 'exactly one refund')
    assert.equal(await balance(market), 0n)
  })

  it('blocks a requester re-entering reclaimExpired from its refund hook', async () => {
    const before = await balance(actor)
    const jobId = await createJobAsActor()
    await chain.increaseTime(601)
    await arm(market, marketCall('reclaimExpired', [jobId]))
    await asActor(market, marketCall('reclaimExpired', [jobId]))
    await assertReentryBlocked()
    assert.equal(await balance(actor), before)
  })

  it('blocks a provider contract re-entering finalize from its payment hook (paid once)', async () => {
    // the actor stakes and bids as a contract wallet (ERC-1271)
    await asActor(
      registry,
      encodeFunctionData({ abi: providerRegistryAbi, functionName: 'stake', args: [MIN_STAKE] }),
    )
    const t = await terms()
    const { jobId } = await eoaRequester.createJob({
      ...t,
      commitWindow: BigInt(t.commitWindow),
      revealWindow: BigInt(t.revealWindow),
    })
    const bid = { jobId, provider: actor, pricePerFuel: 700n, expiry: (await now()) + 300n }
    await assertRevert(eoaRequester.award({ ...bid, signature: '0x' }), 'JobMarket__InvalidBidSignature')
    const digest = await eoaRequester.bidDigest(bid)
    await send(operator, {
      address: actor,
      abi: reentrantActorAbi,
      functionName: 'approveHash',
      args: [digest],
    })
    await eoaRequester.award({ ...bid, signature: '0x' })
    const resultHash = bytes32('out')
    const salt = bytes32('salt')
    const fuelUsed = 900n
    await asActor(
      market,
      encodeFunctionData({
        abi: jobMarketAbi,
        functionName: 'commitResult',
        args: [jobId, resultCommitment({ resultHash, fuelUsed, salt, provider: actor })],
      }),
    )
    await asActor(
      market,
      encodeFunctionData({
        abi: jobMarketAbi,
        functionName: 'revealResult',
        args: [jobId, resultHash, fuelUsed, salt],
      }),
    )
    const before = await balance(actor)
    await arm(market, marketCall('finalize', [jobId]))
    await eoaRequester.finalize(jobId)
    await assertReentryBlocked()
    assert.equal(await balance(actor), before + fuelUsed * 700n, 'paid exactly once')
    assert.equal(await balance(market), 0n)
  })

  it('blocks a provider re-entering withdraw from its withdrawal hook (withdrawn once)', async () => {
    await asActor(
      registry,
      encodeFunctionData({ abi: providerRegistryAbi, functionName: 'stake', args: [MIN_STAKE] }),
    )
    await asActor(
      registry,
      encodeFunctionData({ abi: providerRegistryAbi, functionName: 'requestUnbond', args: [MIN_STAKE] }),
    )
    await chain.increaseTime(UNBONDING_DELAY)
    const before = await balance(actor)
    const registryBefore = await balance(registry)
    await arm(registry, encodeFunctionData({ abi: providerRegistryAbi, functionName: 'withdraw' }))
    await asActor(registry, encodeFunctionData({ abi: providerRegistryAbi, functionName: 'withdraw' }))
    await assertReentryBlocked()
    assert.equal(await balance(actor), before + MIN_STAKE)
    assert.equal(await balance(registry), registryBefore - MIN_STAKE)
  })

  it('settles even when the requester refuses its refund; the refund stays claimable', async () => {
    const jobId = await createJobAsActor()
    const bid = await eoaProvider.signBid({ jobId, pricePerFuel: 500n, expiry: (await now()) + 300n })
    await asActor(
      market,
      encodeFunctionData({
        abi: jobMarketAbi,
        functionName: 'award',
        args: [bid.jobId, bid.provider, bid.pricePerFuel, bid.expiry, bid.signature],
      }),
    )
    const resultHash = bytes32('r')
    const salt = bytes32('s')
    await eoaProvider.commitResult(
      jobId,
      resultCommitment({ resultHash, fuelUsed: 10n, salt, provider: eoaProvider.address }),
    )
    await eoaProvider.revealResult({ jobId, resultHash, fuelUsed: 10n, salt })
    await send(operator, {
      address: actor,
      abi: reentrantActorAbi,
      functionName: 'setRefusePayments',
      args: [true],
    })
    await chain.increaseTime(CHALLENGE_WINDOW)
    const providerBefore = await balance(eoaProvider.address)
    // the provider finalizes after the window; the requester's refusing hook cannot stop it
    await eoaProvider.finalize(jobId)
    assert.equal(await balance(eoaProvider.address), providerBefore + 10n * 500n)
    const refund = 1_000n * 1_000n - 10n * 500n
    assert.equal(await eoaProvider.owed(actor), refund)
    assert.equal(await balance(market), refund)
    // refusing still: the claim reverts and nothing is lost
    await assertRevert(asActor(market, marketCall('claim')), 'ReentrantActor__PaymentRefused')
    await send(operator, {
      address: actor,
      abi: reentrantActorAbi,
      functionName: 'setRefusePayments',
      args: [false],
    })
    const before = await balance(actor)
    await asActor(market, marketCall('claim'))
    assert.equal(await balance(actor), before + refund)
    assert.equal(await eoaProvider.owed(actor), 0n)
    assert.equal(await balance(market), 0n)
  })
})

describe('attacks: signatures, deadlines and permissions', () => {
  let f: Fixture
  let other: Fixture
  let j: ReturnType<typeof jobs>
  let snap: Hex

  before(async () => {
    f = await setupFixture()
    // Same deployer, same nonces: the same contract addresses on another chain id.
    other = await setupFixture({ chainId: 31_338 })
    j = jobs(f)
  })
  after(async () => {
    await f?.close()
    await other?.close()
  })
  beforeEach(async () => {
    snap = await f.snapshot()
  })
  afterEach(async () => {
    await f.revert(snap)
  })

  it('refuses a bid replayed on another job', async () => {
    const first = await j.open()
    const second = await j.open()
    const bid = await j.bid(f.provider, first.jobId)
    await assertRevert(f.requester.award({ ...bid, jobId: second.jobId }), 'JobMarket__InvalidBidSignature')
    await f.requester.award(bid)
    // and once used, not again on the same job
    await assertRevert(f.requester.award(bid), 'JobMarket__InvalidStatus')
  })

  it('refuses a bid replayed on another chain where the market has the same address', async () => {
    assert.equal(other.deployment.market, f.deployment.market)
    assert.equal(other.provider.address, f.provider.address)
    const here = await j.open()
    const there = await jobs(other).open()
    assert.equal(here.jobId, there.jobId)
    const bid = await j.bid(f.provider, here.jobId)
    await assertRevert(other.requester.award(bid), 'JobMarket__InvalidBidSignature')
    await f.requester.award(bid)
  })

  it('refuses finalize by others before the challenge window, and a second finalize', async () => {
    const { jobId } = await j.revealed()
    await assertRevert(f.stranger.finalize(jobId), 'JobMarket__ChallengeWindowOpen')
    await assertRevert(f.provider.finalize(jobId), 'JobMarket__ChallengeWindowOpen')
    await f.requester.finalize(jobId)
    await assertRevert(f.requester.finalize(jobId), 'JobMarket__InvalidStatus')
    await f.advance(CHALLENGE_WINDOW)
    await assertRevert(f.stranger.finalize(jobId), 'JobMarket__InvalidStatus')
    await assertConserved(f)
  })

  it('refuses slashing, locking and settling by unauthorized callers', async () => {
    const jobId = await j.awarded()
    const registry = { address: f.deployment.registry, abi: providerRegistryAbi } as const
    for (const who of [f.requester, f.stranger, f.provider2, f.deployer]) {
      await assertRevert(
        send(who, {
          ...registry,
          functionName: 'slash',
          args: [f.provider.address, MIN_COLLATERAL, bytes32('x'), '0x'],
        }),
        'AccessControlUnauthorizedAccount',
      )
      await assertRevert(
        send(who, { ...registry, functionName: 'release', args: [f.provider.address, MIN_COLLATERAL, 0n] }),
        'AccessControlUnauthorizedAccount',
      )
      await assertRevert(
        who.settleByVerifier({
          jobId,
          fuelToPay: 0n,
          providerAtFault: true,
          reason: bytes32('x'),
          evidence: '0x',
        }),
        'AccessControlUnauthorizedAccount',
      )
    }
    assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE)
    assert.equal(await f.provider.lockedOf(f.provider.address), MIN_COLLATERAL)
  })

  it('refuses an award above the requester maximum price', async () => {
    const { jobId } = await j.open()
    await assertRevert(
      f.requester.award(await j.bid(f.provider, jobId, MAX_PRICE + 1n)),
      'JobMarket__PriceAboveMax',
    )
  })

  it('refuses an unstaked, an under-staked and an unbonding provider', async () => {
    const { jobId } = await j.open()
    await assertRevert(f.requester.award(await j.bid(f.stranger, jobId)), 'ProviderRegistry__NotEligible')
    await f.stranger.approve(f.deployment.registry, MIN_STAKE)
    await f.stranger.stake(MIN_STAKE - 1n)
    await assertRevert(f.requester.award(await j.bid(f.stranger, jobId)), 'ProviderRegistry__NotEligible')
    await f.provider.requestUnbond(1n)
    await assertRevert(f.requester.award(await j.bid(f.provider, jobId)), 'ProviderRegistry__NotEligible')
  })

  it('refuses a commitment copied from another provider', async () => {
    const honest = await j.revealed(f.provider, 777n)
    const copier = await j.awarded(f.provider2)
    const { commitment } = await f.requester.getJob(honest.jobId)
    await f.provider2.commitResult(copier, commitment)
    // every opening value is public after the honest reveal, yet it does not open for provider2
    await assertRevert(
      f.provider2.revealResult({ ...honest, jobId: copier }),
      'JobMarket__CommitmentMismatch',
    )
  })

  it('refuses a provider revealing more fuel than the job allows, so it can never be over-paid', async () => {
    const job = await j.committed(f.provider, MAX_FUEL + 1n)
    await assertRevert(f.provider.revealResult(job), 'JobMarket__FuelAboveMax')
  })

  it('refuses a deployment pointing the market at a zero token', async () => {
    await assert.rejects(
      deployBazaar(f.deployer.clients, {
        token: zeroAddress,
        minStake: 1n,
        minCollateral: 1n,
        challengeWindow: 1,
      }),
      (err: unknown) => err instanceof ChainError && err.errorName === 'ProviderRegistry__ZeroAddress',
    )
  })
})
