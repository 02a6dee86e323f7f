import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { ChainError } from '@bazaar/chain'
import { computeTokenAbi, providerRegistryAbi, providerRegistryBytecode } from '@bazaar/contracts'
import { decodeEventLog, type Hex, parseEther, zeroAddress } from 'viem'
import {
  assertConserved,
  assertRevert,
  bytes32,
  COMMIT_WINDOW,
  type Fixture,
  HALF_LIFE,
  JAIL_DURATION,
  jobs,
  MARKET_ROLE,
  MAX_FAULTS,
  MIN_COLLATERAL,
  MIN_STAKE,
  SLASHER_ROLE,
  send,
  setupFixture,
  UNBONDING_DELAY,
} from './fixture.ts'

const WAD = 10n ** 18n

describe('ProviderRegistry', () => {
  let f: Fixture
  let j: ReturnType<typeof jobs>
  let snap: Hex

  before(async () => {
    f = await setupFixture()
    j = jobs(f)
  })
  after(async () => {
    await f?.close()
  })
  beforeEach(async () => {
    snap = await f.snapshot()
  })
  afterEach(async () => {
    await f.revert(snap)
  })

  const registry = () => ({ address: f.deployment.registry, abi: providerRegistryAbi }) as const
  /** Makes the verifier account a direct slasher/locker, as a verification contract would be. */
  const grant = (role: Hex) =>
    send(f.deployer, { ...registry(), functionName: 'grantRole', args: [role, f.verifier.address] })
  const slash = (amount: bigint, who = f.verifier, provider = f.provider.address) =>
    send(who, { ...registry(), functionName: 'slash', args: [provider, amount, bytes32('TEST'), '0xbeef'] })

  describe('stake', () => {
    it('stakes, tops up and tracks eligibility against the minimum', async () => {
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE)
      assert.equal(await f.provider.isEligible(f.provider.address), true)
      assert.equal(await f.provider.isEligible(f.stranger.address), false)
      await f.stranger.approve(f.deployment.registry, MIN_STAKE)
      await f.stranger.stake(MIN_STAKE - 1n)
      assert.equal(await f.provider.isEligible(f.stranger.address), false)
      await f.stranger.stake(1n)
      assert.equal(await f.provider.isEligible(f.stranger.address), true)
      assert.equal(await f.stranger.availableOf(f.stranger.address), MIN_STAKE)
      await assertRevert(f.stranger.stake(0n), 'ProviderRegistry__ZeroAmount')
      await assertRevert(f.stranger.stake(1n), 'ERC20InsufficientAllowance')
    })

    it('stakes in one transaction with a permit, and survives a front-run permit', async () => {
      const before = await f.stranger.balanceOf(f.stranger.address)
      await f.stranger.stakeWithPermit(MIN_STAKE)
      assert.equal(await f.stranger.stakeOf(f.stranger.address), MIN_STAKE)
      assert.equal(await f.stranger.balanceOf(f.stranger.address), before - MIN_STAKE)
      const permit = await f.stranger.signPermit(f.deployment.registry, 5n, (await f.now()) + 60n)
      await send(f.requester, {
        address: f.deployment.token,
        abi: computeTokenAbi,
        functionName: 'permit',
        args: [f.stranger.address, f.deployment.registry, 5n, permit.deadline, permit.v, permit.r, permit.s],
      })
      await send(f.stranger, {
        ...registry(),
        functionName: 'stakeWithPermit',
        args: [5n, permit.deadline, permit.v, permit.r, permit.s],
      })
      assert.equal(await f.stranger.stakeOf(f.stranger.address), MIN_STAKE + 5n)
    })

    it('refuses stakes that would not fit the accounting', async () => {
      const huge = 2n ** 128n
      await f.deployer.mint(f.stranger.address, huge)
      await f.stranger.approve(f.deployment.registry, huge)
      await assertRevert(f.stranger.stake(huge), 'ProviderRegistry__AmountTooLarge')
    })

    it('rejects zero addresses at construction', async () => {
      const { walletClient, publicClient } = f.deployer.clients
      const params = { minStake: 1n, unbondingDelay: 1, jailDuration: 1, reputationHalfLife: 1, maxFaults: 1 }
      for (const args of [
        [zeroAddress, f.deployer.address, params],
        [f.deployment.token, zeroAddress, params],
      ] as const) {
        let caught: unknown
        try {
          const hash = await walletClient.deployContract({
            abi: providerRegistryAbi,
            bytecode: providerRegistryBytecode,
            args,
          })
          await publicClient.waitForTransactionReceipt({ hash })
        } catch (err) {
          caught = ChainError.from(err, 'deploy ProviderRegistry')
        }
        assert.ok(caught instanceof ChainError)
        assert.equal(caught.errorName, 'ProviderRegistry__ZeroAddress')
      }
    })
  })

  describe('unbonding', () => {
    it('unbonds free stake only, stops counting it at once, and withdraws after the delay', async () => {
      const p = f.provider
      await j.awarded(p)
      const err = await assertRevert(p.requestUnbond(MIN_STAKE), 'ProviderRegistry__InsufficientFreeStake')
      assert.deepEqual(err.errorArgs, [p.address, MIN_STAKE - MIN_COLLATERAL, MIN_STAKE])
      await assertRevert(p.requestUnbond(0n), 'ProviderRegistry__ZeroAmount')
      await p.requestUnbond(MIN_STAKE - MIN_COLLATERAL)
      const account = await p.accountOf(p.address)
      assert.equal(account.staked, MIN_COLLATERAL)
      assert.equal(account.locked, MIN_COLLATERAL)
      assert.equal(account.unbonding, MIN_STAKE - MIN_COLLATERAL)
      assert.equal(account.unbondingReadyAt, (await f.now()) + BigInt(UNBONDING_DELAY))
      assert.equal(await p.isEligible(p.address), false, 'unbonding stake does not count')

      await assertRevert(p.withdraw(), 'ProviderRegistry__UnbondingNotReady')
      await f.advance(UNBONDING_DELAY - 10)
      await assertRevert(p.withdraw(), 'ProviderRegistry__UnbondingNotReady')
      await f.advance(10)
      const before = await p.balanceOf(p.address)
      await p.withdraw()
      assert.equal(await p.balanceOf(p.address), before + MIN_STAKE - MIN_COLLATERAL)
      assert.equal((await p.accountOf(p.address)).unbonding, 0n)
      await assertRevert(p.withdraw(), 'ProviderRegistry__NothingUnbonding')
      await assertConserved(f)
    })

    it('restarts the delay on a second request and can be cancelled', async () => {
      const p = f.provider
      await p.requestUnbond(10n)
      await f.advance(UNBONDING_DELAY - 1)
      await p.requestUnbond(5n)
      const account = await p.accountOf(p.address)
      assert.equal(account.unbonding, 15n)
      assert.equal(account.unbondingReadyAt, (await f.now()) + BigInt(UNBONDING_DELAY))
      await p.cancelUnbonding()
      assert.equal(await p.stakeOf(p.address), MIN_STAKE)
      assert.equal((await p.accountOf(p.address)).unbonding, 0n)
      await assertRevert(p.cancelUnbonding(), 'ProviderRegistry__NothingUnbonding')
    })

    it('keeps unbonding stake slashable: locked first, then free, then unbonding', async () => {
      await grant(SLASHER_ROLE)
      const p = f.provider
      await j.awarded(p) // locks MIN_COLLATERAL
      await p.requestUnbond(30n * 10n ** 18n) // 30 out, 70 active of which 10 locked
      const verifierBefore = await p.balanceOf(f.verifier.address)
      await slash(parseEther('15'))
      let account = await p.accountOf(p.address)
      assert.equal(account.locked, 0n)
      assert.equal(account.staked, parseEther('55'))
      assert.equal(account.unbonding, parseEther('30'))
      await slash(parseEther('70'))
      account = await p.accountOf(p.address)
      assert.equal(account.staked, 0n)
      assert.equal(account.unbonding, parseEther('15'))
      // more than is left: takes the rest, never reverts
      await slash(parseEther('1000'))
      account = await p.accountOf(p.address)
      assert.equal(account.unbonding, 0n)
      assert.equal(
        await p.balanceOf(f.verifier.address),
        verifierBefore + MIN_STAKE,
        'slashed stake goes to the slasher',
      )
      await assertConserved(f)
    })
  })

  describe('roles', () => {
    it('lets only MARKET_ROLE lock and release, and only SLASHER_ROLE slash', async () => {
      const p = f.provider.address
      for (const who of [f.deployer, f.stranger, f.provider]) {
        await assertRevert(
          send(who, { ...registry(), functionName: 'lock', args: [p, 1n] }),
          'AccessControlUnauthorizedAccount',
        )
        await assertRevert(
          send(who, { ...registry(), functionName: 'release', args: [p, 1n, 1n] }),
          'AccessControlUnauthorizedAccount',
        )
        await assertRevert(slash(1n, who), 'AccessControlUnauthorizedAccount')
      }
    })

    it('lets an authorized locker lock eligible, free stake only, and release without reverting', async () => {
      await grant(MARKET_ROLE)
      const lock = (provider: `0x${string}`, amount: bigint) =>
        send(f.verifier, { ...registry(), functionName: 'lock', args: [provider, amount] })
      await assertRevert(lock(f.stranger.address, 0n), 'ProviderRegistry__NotEligible')
      await assertRevert(lock(f.provider.address, MIN_STAKE + 1n), 'ProviderRegistry__InsufficientFreeStake')
      await lock(f.provider.address, 5n)
      assert.equal(await f.provider.lockedOf(f.provider.address), 5n)
      // releasing more than is locked frees what is there instead of blocking a settlement
      const receipt = await send(f.verifier, {
        ...registry(),
        functionName: 'release',
        args: [f.provider.address, 50n, 7n],
      })
      assert.equal(await f.provider.lockedOf(f.provider.address), 0n)
      const released = decodeEventLog({ abi: providerRegistryAbi, ...receipt.logs[0]! })
      assert.equal(released.eventName, 'Released')
      assert.deepEqual(released.args, {
        provider: f.provider.address,
        amount: 5n,
        locked: 0n,
        unitsServed: 7n,
      })
    })

    it('lets only the admin grant roles and set parameters', async () => {
      await assertRevert(
        send(f.stranger, {
          ...registry(),
          functionName: 'grantRole',
          args: [SLASHER_ROLE, f.stranger.address],
        }),
        'AccessControlUnauthorizedAccount',
      )
      const params = {
        minStake: 1n,
        unbondingDelay: 2,
        jailDuration: 3,
        reputationHalfLife: 4,
        maxFaults: 5,
      }
      await assertRevert(
        send(f.stranger, { ...registry(), functionName: 'setParameters', args: [params] }),
        'AccessControlUnauthorizedAccount',
      )
      await send(f.deployer, { ...registry(), functionName: 'setParameters', args: [params] })
      assert.deepEqual(await f.deployer.registryParameters(), params)
      const minStake = await f.deployer.clients.publicClient.readContract({
        ...registry(),
        functionName: 'minStake',
      })
      assert.equal(minStake, 1n)
    })
  })

  describe('faults and jail', () => {
    it(`jails a provider after ${MAX_FAULTS} faults, for the jail duration, then clears`, async () => {
      await grant(SLASHER_ROLE)
      const p = f.provider
      for (let i = 1; i < MAX_FAULTS; i++) {
        await slash(0n)
        assert.equal((await p.accountOf(p.address)).faults, BigInt(i))
        assert.equal(await p.isEligible(p.address), true)
      }
      const receipt = await slash(0n)
      const jailed = receipt.logs
        .map((l) => decodeEventLog({ abi: providerRegistryAbi, ...l }))
        .find((e) => e.eventName === 'Jailed')
      assert.ok(jailed && jailed.eventName === 'Jailed')
      const until = (await f.now()) + BigInt(JAIL_DURATION)
      assert.equal(jailed.args.until, until)
      const account = await p.accountOf(p.address)
      assert.equal(account.jailedUntil, until)
      assert.equal(account.faults, 0n)
      assert.equal(await p.isEligible(p.address), false)
      assert.equal((await p.reputationOf(p.address)).score, 0n, 'a jailed provider scores 0')
      const { jobId } = await j.open()
      await assertRevert(f.requester.award(await j.bid(p, jobId)), 'ProviderRegistry__NotEligible')
      await f.advance(JAIL_DURATION)
      assert.equal(await p.isEligible(p.address), true)
      const { jobId: later } = await j.open()
      await f.requester.award(await j.bid(p, later))
    })

    it('never jails when maxFaults is 0', async () => {
      await grant(SLASHER_ROLE)
      await send(f.deployer, {
        ...registry(),
        functionName: 'setParameters',
        args: [
          { minStake: MIN_STAKE, unbondingDelay: 1, jailDuration: 1, reputationHalfLife: 0, maxFaults: 0 },
        ],
      })
      for (let i = 0; i < MAX_FAULTS + 1; i++) await slash(0n)
      assert.equal(await f.provider.isEligible(f.provider.address), true)
      assert.equal((await f.provider.reputationOf(f.provider.address)).failed, BigInt(MAX_FAULTS + 1))
    })
  })

  describe('reputation', () => {
    it('counts completed jobs, units and faults, and scores by quality x stake weight', async () => {
      const fresh = await f.provider.reputationOf(f.stranger.address)
      assert.equal(fresh.score, 0n)
      assert.equal(fresh.completed, 0n)

      const a = await j.revealed(f.provider, 100n)
      await f.requester.finalize(a.jobId)
      const b = await j.revealed(f.provider, 50n)
      await f.requester.finalize(b.jobId)
      const missed = await j.awarded(f.provider)
      await f.advance(COMMIT_WINDOW + 1n)
      await f.stranger.reclaimExpired(missed)

      const rep = await f.provider.reputationOf(f.provider.address)
      assert.equal(rep.completed, 2n)
      assert.equal(rep.failed, 1n)
      assert.equal(rep.unitsServed, 150n)
      assert.equal(rep.slashedAmount, MIN_COLLATERAL)
      assert.equal(rep.stake, MIN_STAKE - MIN_COLLATERAL)
      // decay over the few hundred seconds since is tiny but real: check the formula on what it returns
      assert.ok(rep.good < 2n * WAD && rep.good > 2n * WAD - WAD / 1000n)
      assert.ok(rep.bad <= WAD && rep.bad > WAD - WAD / 1000n)
      const quality = (rep.good * WAD) / (rep.good + rep.bad + WAD)
      const stakeWeight = (rep.stake * WAD) / (rep.stake + MIN_STAKE)
      assert.equal(rep.score, (quality * stakeWeight) / WAD)
    })

    it('halves the accumulators every half-life and interpolates in between', async () => {
      const a = await j.revealed(f.provider, 1n)
      await f.requester.finalize(a.jobId)
      const start = (await f.provider.reputationOf(f.provider.address)).good
      assert.equal(start, WAD)
      await f.advance(HALF_LIFE)
      assert.equal((await f.provider.reputationOf(f.provider.address)).good, WAD / 2n)
      await f.advance(HALF_LIFE / 2)
      // linear between 1/2 and 1/4: 3/8
      assert.equal((await f.provider.reputationOf(f.provider.address)).good, (WAD * 3n) / 8n)
      await f.advance(HALF_LIFE * 100)
      assert.equal((await f.provider.reputationOf(f.provider.address)).good, 0n)
    })

    it('weighs a bigger stake higher at equal quality', async () => {
      for (const p of [f.provider, f.provider2]) {
        const job = await j.revealed(p, 1n)
        await f.requester.finalize(job.jobId)
      }
      await f.provider2.stake(MIN_STAKE * 3n)
      const small = await f.provider.reputationOf(f.provider.address)
      const big = await f.provider.reputationOf(f.provider2.address)
      assert.equal(small.good, big.good)
      assert.ok(big.score > small.score)
    })
  })
})
