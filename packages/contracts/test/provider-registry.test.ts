import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ChainError } from '@bazaar/chain'
import { providerRegistryAbi } from '@bazaar/contracts'
import type { Address, Hex } from 'viem'
import { assertRevert, bytes32, COLLATERAL, type Fixture, MIN_STAKE, setupFixture } from './fixture.ts'

describe('ProviderRegistry', () => {
  let f: Fixture

  before(async () => {
    f = await setupFixture()
  })
  after(async () => {
    await f?.close()
  })

  /** Calls a registry function the facade does not expose, as `who`. */
  async function callRegistry(
    who: Fixture['deployer'],
    call:
      | { functionName: 'setMarket'; args: [Address] }
      | { functionName: 'lock' | 'unlock'; args: [Address, bigint] }
      | { functionName: 'slash'; args: [Address, bigint, Address, Hex] },
  ) {
    try {
      const hash = await who.clients.walletClient.writeContract({
        address: f.deployment.registry,
        abi: providerRegistryAbi,
        ...call,
      } as Parameters<typeof who.clients.walletClient.writeContract>[0])
      return await who.clients.publicClient.waitForTransactionReceipt({ hash })
    } catch (err) {
      throw ChainError.from(err, `ProviderRegistry.${call.functionName}`)
    }
  }

  it('tracks stake and eligibility', async () => {
    assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE)
    assert.equal(await f.provider.isEligible(f.provider.address), true)
    assert.equal(await f.provider.isEligible(f.stranger.address), false)
    await f.stranger.approve(f.deployment.registry, MIN_STAKE)
    await f.stranger.stake(MIN_STAKE - 1n)
    assert.equal(await f.provider.isEligible(f.stranger.address), false)
    await f.stranger.stake(1n)
    assert.equal(await f.provider.isEligible(f.stranger.address), true)
    await f.stranger.unstake(MIN_STAKE)
    assert.equal(await f.provider.stakeOf(f.stranger.address), 0n)
    await assertRevert(f.stranger.stake(0n), 'ProviderRegistry__ZeroAmount')
  })

  it('keeps locked collateral from being unstaked until the job settles', async () => {
    const now = await f.chain.latestTimestamp()
    const { jobId } = await f.requester.createJob({
      specHash: bytes32('spec'),
      maxPricePerFuel: 10n,
      maxFuel: 100n,
      bidDeadline: now + 60n,
      executionDeadline: now + 600n,
    })
    await f.requester.award(await f.provider.signBid({ jobId, pricePerFuel: 10n, expiry: now + 60n }))
    assert.equal(await f.provider.lockedOf(f.provider.address), COLLATERAL)
    const err = await assertRevert(
      f.provider.unstake(MIN_STAKE),
      'ProviderRegistry__InsufficientUnlockedStake',
    )
    assert.deepEqual(err.errorArgs, [f.provider.address, MIN_STAKE - COLLATERAL, MIN_STAKE])
    await f.provider.unstake(MIN_STAKE - COLLATERAL)
    assert.equal(await f.provider.isEligible(f.provider.address), false)
    await f.provider.approve(f.deployment.registry, MIN_STAKE)
    await f.provider.stake(MIN_STAKE - COLLATERAL)
  })

  it('lets only the market lock, unlock and slash', async () => {
    const p = f.provider.address
    await assertRevert(
      callRegistry(f.deployer, { functionName: 'lock', args: [p, 1n] }),
      'ProviderRegistry__NotMarket',
    )
    await assertRevert(
      callRegistry(f.provider, { functionName: 'unlock', args: [p, 1n] }),
      'ProviderRegistry__NotMarket',
    )
    await assertRevert(
      callRegistry(f.requester, { functionName: 'slash', args: [p, 1n, f.requester.address, bytes32('x')] }),
      'ProviderRegistry__NotMarket',
    )
  })

  it('sets the market once, by the owner only', async () => {
    await assertRevert(
      callRegistry(f.stranger, { functionName: 'setMarket', args: [f.stranger.address] }),
      'OwnableUnauthorizedAccount',
    )
    await assertRevert(
      callRegistry(f.deployer, { functionName: 'setMarket', args: [f.stranger.address] }),
      'ProviderRegistry__MarketAlreadySet',
    )
  })

  it('lets only the owner mint', async () => {
    await assertRevert(f.stranger.mint(f.stranger.address, 1n), 'OwnableUnauthorizedAccount')
  })
})
