import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type BazaarContracts, resultCommitment, signBid } from '@bazaar/chain'
import { bidTypes, marketDomain } from '@bazaar/protocol'
import { type Address, type Hex, hashTypedData, zeroAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { assertRevert, bytes32, CHALLENGE_WINDOW, COLLATERAL, type Fixture, setupFixture } from './fixture.ts'

const MAX_PRICE = 1_000_000_000n
const MAX_FUEL = 5_000_000n

describe('JobMarket', () => {
  let f: Fixture

  before(async () => {
    f = await setupFixture()
  })
  after(async () => {
    await f?.close()
  })

  async function openJob(overrides: { maxPricePerFuel?: bigint; maxFuel?: bigint; execution?: bigint } = {}) {
    const now = await f.chain.latestTimestamp()
    return f.requester.createJob({
      specHash: bytes32('spec'),
      maxPricePerFuel: overrides.maxPricePerFuel ?? MAX_PRICE,
      maxFuel: overrides.maxFuel ?? MAX_FUEL,
      bidDeadline: now + 60n,
      executionDeadline: now + (overrides.execution ?? 3600n),
    })
  }

  async function bidFor(provider: BazaarContracts, jobId: bigint, pricePerFuel = MAX_PRICE / 2n) {
    const now = await f.chain.latestTimestamp()
    return provider.signBid({ jobId, pricePerFuel, expiry: now + 300n })
  }

  async function awardedJob(provider = f.provider) {
    const { jobId } = await openJob()
    await f.requester.award(await bidFor(provider, jobId))
    return jobId
  }

  async function committedJob(fuelUsed = 1234n, salt = bytes32('salt')) {
    const jobId = await awardedJob()
    const resultHash = bytes32('result')
    await f.provider.commitResult(
      jobId,
      resultCommitment({ resultHash, fuelUsed, salt, provider: f.provider.address }),
    )
    return { jobId, resultHash, fuelUsed, salt }
  }

  async function revealedJob() {
    const job = await committedJob()
    await f.provider.revealResult(job)
    return job
  }

  /** Sum of all balances equals the supply; nothing appears or disappears. */
  async function assertConserved() {
    const holders: Address[] = [...f.holders, f.deployment.market, f.deployment.registry]
    const balances = await Promise.all(holders.map((h) => f.deployer.balanceOf(h)))
    assert.equal(
      balances.reduce((a, b) => a + b, 0n),
      await f.deployer.totalSupply(),
    )
  }

  it('matches the EIP-712 domain and Bid type of @bazaar/protocol', async () => {
    const bid = { jobId: 7n, provider: f.provider.address, pricePerFuel: 42n, expiry: 99n }
    const offChain = hashTypedData({
      domain: marketDomain(f.chain.chainId, f.deployment.market),
      types: bidTypes,
      primaryType: 'Bid',
      message: bid,
    })
    assert.equal(await f.requester.bidDigest(bid), offChain)
  })

  it('runs the happy path with exact payments and conserved tokens', async (t) => {
    const supply = await f.deployer.totalSupply()
    const requesterBefore = await f.deployer.balanceOf(f.requester.address)
    const providerBefore = await f.deployer.balanceOf(f.provider.address)
    const marketBefore = await f.deployer.balanceOf(f.deployment.market)

    const created = await openJob()
    const { jobId } = created
    const escrow = MAX_PRICE * MAX_FUEL
    assert.equal(await f.deployer.balanceOf(f.deployment.market), marketBefore + escrow)
    assert.equal((await f.requester.getJob(jobId)).status, 'Open')

    const price = 300_000_000n
    const bid = await bidFor(f.provider, jobId, price)
    const awarded = await f.requester.award(bid)
    let job = await f.requester.getJob(jobId)
    assert.equal(job.status, 'Awarded')
    assert.equal(job.provider, f.provider.address)
    assert.equal(job.pricePerFuel, price)
    assert.equal(await f.provider.lockedOf(f.provider.address), COLLATERAL)

    const fuelUsed = 4_321_000n
    const resultHash = bytes32('output-digest')
    const salt = bytes32('secret-salt')
    const committed = await f.provider.commitResult(
      jobId,
      resultCommitment({ resultHash, fuelUsed, salt, provider: f.provider.address }),
    )
    assert.equal((await f.requester.getJob(jobId)).status, 'Committed')
    const revealed = await f.provider.revealResult({ jobId, resultHash, fuelUsed, salt })
    job = await f.requester.getJob(jobId)
    assert.equal(job.status, 'Revealed')
    assert.equal(job.resultHash, resultHash)
    assert.equal(job.fuelUsed, fuelUsed)

    const finalized = await f.requester.finalize(jobId)
    assert.equal((await f.requester.getJob(jobId)).status, 'Finalized')

    const paid = fuelUsed * price
    assert.equal(await f.deployer.balanceOf(f.provider.address), providerBefore + paid)
    assert.equal(await f.deployer.balanceOf(f.requester.address), requesterBefore - paid)
    assert.equal(await f.deployer.balanceOf(f.deployment.market), marketBefore)
    assert.equal(await f.provider.lockedOf(f.provider.address), 0n)
    assert.equal(await f.deployer.totalSupply(), supply)
    await assertConserved()

    const gas = {
      createJob: created.gasUsed,
      award: awarded.gasUsed,
      commitResult: committed.gasUsed,
      revealResult: revealed.gasUsed,
      finalize: finalized.gasUsed,
    }
    for (const used of Object.values(gas)) assert.ok(used > 21_000n)
    t.diagnostic(
      `gas used: ${Object.entries(gas)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    )
  })

  it('refunds the whole escrow on cancel, only to the requester, only while open', async () => {
    const before = await f.deployer.balanceOf(f.requester.address)
    const { jobId } = await openJob()
    await assertRevert(f.stranger.cancelJob(jobId), 'JobMarket__NotRequester')
    await f.requester.cancelJob(jobId)
    assert.equal(await f.deployer.balanceOf(f.requester.address), before)
    assert.equal((await f.requester.getJob(jobId)).status, 'Cancelled')
    await assertRevert(f.requester.cancelJob(jobId), 'JobMarket__InvalidStatus')
    const awarded = await awardedJob()
    await assertRevert(f.requester.cancelJob(awarded), 'JobMarket__InvalidStatus')
    await assertConserved()
  })

  it('rejects a bid signed by another key', async () => {
    const { jobId } = await openJob()
    const forged = await bidFor(f.stranger, jobId)
    await assertRevert(
      f.requester.award({ ...forged, provider: f.provider.address }),
      'JobMarket__InvalidBidSignature',
    )
  })

  it('rejects a bid signed for a different job', async () => {
    const first = await openJob()
    const second = await openJob()
    const bid = await bidFor(f.provider, first.jobId)
    await assertRevert(f.requester.award({ ...bid, jobId: second.jobId }), 'JobMarket__InvalidBidSignature')
  })

  it('rejects a tampered price or expiry', async () => {
    const { jobId } = await openJob()
    const bid = await bidFor(f.provider, jobId)
    await assertRevert(
      f.requester.award({ ...bid, pricePerFuel: bid.pricePerFuel - 1n }),
      'JobMarket__InvalidBidSignature',
    )
    await assertRevert(
      f.requester.award({ ...bid, expiry: bid.expiry + 1n }),
      'JobMarket__InvalidBidSignature',
    )
  })

  it('rejects an expired bid', async () => {
    const { jobId } = await openJob()
    const now = await f.chain.latestTimestamp()
    const bid = await f.provider.signBid({ jobId, pricePerFuel: 1n, expiry: now - 1n })
    await assertRevert(f.requester.award(bid), 'JobMarket__BidExpired')
  })

  it('rejects a price above the job maximum', async () => {
    const { jobId } = await openJob()
    const bid = await bidFor(f.provider, jobId, MAX_PRICE + 1n)
    await assertRevert(f.requester.award(bid), 'JobMarket__PriceAboveMax')
  })

  it('rejects bids signed for another chain id or another market', async () => {
    const { jobId } = await openJob()
    const now = await f.chain.latestTimestamp()
    const message = { jobId, provider: f.provider.address, pricePerFuel: 10n, expiry: now + 300n }
    const key = privateKeyToAccount(f.chain.accounts[2]!.privateKey)
    assert.equal(key.address, f.provider.address)
    const otherChain = await signBid(key, marketDomain(1, f.deployment.market), message)
    await assertRevert(f.requester.award(otherChain), 'JobMarket__InvalidBidSignature')
    const otherMarket = await signBid(key, marketDomain(f.chain.chainId, f.deployment.registry), message)
    await assertRevert(f.requester.award(otherMarket), 'JobMarket__InvalidBidSignature')
    const right = await signBid(key, marketDomain(f.chain.chainId, f.deployment.market), message)
    await f.requester.award(right)
  })

  it('lets only the requester award', async () => {
    const { jobId } = await openJob()
    await assertRevert(f.stranger.award(await bidFor(f.provider, jobId)), 'JobMarket__NotRequester')
  })

  it('rejects an ineligible (unstaked) provider', async () => {
    const { jobId } = await openJob()
    await assertRevert(f.requester.award(await bidFor(f.stranger, jobId)), 'JobMarket__ProviderNotEligible')
  })

  it('lets only the awarded provider commit and reveal', async () => {
    const jobId = await awardedJob()
    const commitment = resultCommitment({
      resultHash: bytes32('r'),
      fuelUsed: 1n,
      salt: bytes32('s'),
      provider: f.provider2.address,
    })
    await assertRevert(f.provider2.commitResult(jobId, commitment), 'JobMarket__NotProvider')
    await assertRevert(f.requester.commitResult(jobId, commitment), 'JobMarket__NotProvider')
    const job = await committedJob()
    await assertRevert(f.provider2.revealResult(job), 'JobMarket__NotProvider')
  })

  it('rejects a reveal that does not open the commitment', async () => {
    const job = await committedJob(1000n, bytes32('right-salt'))
    await assertRevert(
      f.provider.revealResult({ ...job, salt: bytes32('wrong-salt') }),
      'JobMarket__CommitmentMismatch',
    )
    await assertRevert(f.provider.revealResult({ ...job, fuelUsed: 999n }), 'JobMarket__CommitmentMismatch')
    await assertRevert(
      f.provider.revealResult({ ...job, resultHash: bytes32('other') }),
      'JobMarket__CommitmentMismatch',
    )
    await f.provider.revealResult(job)
  })

  it('rejects fuelUsed above maxFuel even when committed to', async () => {
    const job = await committedJob(MAX_FUEL + 1n)
    await assertRevert(f.provider.revealResult(job), 'JobMarket__FuelAboveMax')
  })

  it('lets a stranger finalize only after the challenge window, and only once', async () => {
    const { jobId, fuelUsed } = await revealedJob()
    const providerBefore = await f.deployer.balanceOf(f.provider.address)
    await assertRevert(f.stranger.finalize(jobId), 'JobMarket__ChallengeWindowOpen')
    await f.chain.increaseTime(CHALLENGE_WINDOW - 10n)
    await assertRevert(f.stranger.finalize(jobId), 'JobMarket__ChallengeWindowOpen')
    await f.chain.increaseTime(10n)
    await f.stranger.finalize(jobId)
    const job = await f.requester.getJob(jobId)
    assert.equal(job.status, 'Finalized')
    assert.equal(await f.deployer.balanceOf(f.provider.address), providerBefore + fuelUsed * job.pricePerFuel)
    await assertRevert(f.requester.finalize(jobId), 'JobMarket__InvalidStatus')
    await assertRevert(f.stranger.finalize(jobId), 'JobMarket__InvalidStatus')
    await assertConserved()
  })

  it('rejects a double finalize by the requester', async () => {
    const { jobId } = await revealedJob()
    await f.requester.finalize(jobId)
    await assertRevert(f.requester.finalize(jobId), 'JobMarket__InvalidStatus')
  })

  it('refunds and slashes the provider when it never reveals', async () => {
    const supply = await f.deployer.totalSupply()
    const requesterBefore = await f.deployer.balanceOf(f.requester.address)
    const stakeBefore = await f.provider.stakeOf(f.provider.address)
    const { jobId } = await committedJob()
    const lockedBefore = await f.provider.lockedOf(f.provider.address)
    const job = await f.requester.getJob(jobId)
    await assertRevert(f.stranger.reclaimExpired(jobId), 'JobMarket__NotExpired')
    const now = await f.chain.latestTimestamp()
    await f.chain.increaseTime(job.executionDeadline - now + 1n)
    await assertRevert(
      f.provider.revealResult({
        jobId,
        resultHash: bytes32('result'),
        fuelUsed: 1234n,
        salt: bytes32('salt'),
      }),
      'JobMarket__DeadlinePassed',
    )
    await f.stranger.reclaimExpired(jobId)
    assert.equal((await f.requester.getJob(jobId)).status, 'Expired')
    assert.equal(await f.deployer.balanceOf(f.requester.address), requesterBefore + COLLATERAL)
    assert.equal(await f.provider.stakeOf(f.provider.address), stakeBefore - COLLATERAL)
    assert.equal(await f.provider.lockedOf(f.provider.address), lockedBefore - COLLATERAL)
    await assertRevert(f.stranger.reclaimExpired(jobId), 'JobMarket__InvalidStatus')
    assert.equal(await f.deployer.totalSupply(), supply)
    await assertConserved()
    // top the stake back up for the tests that follow
    await f.provider.approve(f.deployment.registry, COLLATERAL)
    await f.provider.stake(COLLATERAL)
  })

  it('expires an awarded-but-uncommitted job and a never-awarded job', async () => {
    const requesterBefore = await f.deployer.balanceOf(f.requester.address)
    const awarded = await awardedJob(f.provider2)
    const open = await openJob()
    const now = await f.chain.latestTimestamp()
    const { executionDeadline } = await f.requester.getJob(open.jobId)
    await f.chain.increaseTime(executionDeadline - now + 1n)
    await f.stranger.reclaimExpired(awarded)
    await f.stranger.reclaimExpired(open.jobId)
    assert.equal(await f.deployer.balanceOf(f.requester.address), requesterBefore + COLLATERAL)
    assert.equal(await f.provider2.lockedOf(f.provider2.address), 0n)
    await assertConserved()
  })

  it('rejects unknown jobs and bad parameters', async () => {
    await assertRevert(f.requester.cancelJob(999_999n), 'JobMarket__JobNotFound')
    const job = await f.requester.getJob(999_999n)
    assert.equal(job.status, 'None')
    assert.equal(job.requester, zeroAddress)
    const now = await f.chain.latestTimestamp()
    const base = { specHash: bytes32('spec') as Hex, bidDeadline: now + 10n, executionDeadline: now + 100n }
    await assertRevert(
      f.requester.createJob({ ...base, maxPricePerFuel: 0n, maxFuel: 1n }),
      'JobMarket__InvalidParams',
    )
    await assertRevert(
      f.requester.createJob({ ...base, maxPricePerFuel: 1n, maxFuel: 1n, executionDeadline: now }),
      'JobMarket__InvalidDeadlines',
    )
    await assertRevert(
      f.requester.createJob({ ...base, maxPricePerFuel: 1n, maxFuel: 1n, bidDeadline: now + 101n }),
      'JobMarket__InvalidDeadlines',
    )
  })

  it('numbers jobs from 1 and serializes concurrent writes of one signer', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => openJob()))
    const ids = results.map((r) => r.jobId).sort((a, b) => Number(a - b))
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[0]! + BigInt(i))
    const first = await f.requester.getJob(1n)
    assert.equal(first.requester, f.requester.address)
  })
})
