import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { ChainError, resultCommitment } from '@bazaar/chain'
import { computeTokenAbi, jobMarketAbi, jobMarketBytecode, providerRegistryAbi } from '@bazaar/contracts'
import { bidTypes, marketDomain } from '@bazaar/protocol'
import {
  decodeEventLog,
  encodeAbiParameters,
  type Hex,
  hashTypedData,
  keccak256,
  toHex,
  zeroAddress,
} from 'viem'
import {
  assertConserved,
  assertRevert,
  bytes32,
  CHALLENGE_WINDOW,
  COMMIT_WINDOW,
  type Fixture,
  jobs,
  jobTerms,
  MAX_FUEL,
  MAX_PRICE,
  MIN_COLLATERAL,
  MIN_STAKE,
  REVEAL_WINDOW,
  SLASHER_ROLE,
  send,
  setupFixture,
  VERIFIER_ROLE,
} from './fixture.ts'

describe('JobMarket', () => {
  let f: Fixture
  let j: ReturnType<typeof jobs>
  let snap: Hex
  const balance = (who: { address: `0x${string}` } | `0x${string}`) =>
    f.deployer.balanceOf(typeof who === 'string' ? who : who.address)

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

  const market = () => ({ address: f.deployment.market, abi: jobMarketAbi }) as const

  describe('deployment and views', () => {
    it('matches the EIP-712 domain and Bid type of @bazaar/protocol', async () => {
      const bid = { jobId: 7n, provider: f.provider.address, pricePerFuel: 42n, expiry: 99n }
      const offChain = hashTypedData({
        domain: marketDomain(f.chain.chainId, f.deployment.market),
        types: bidTypes,
        primaryType: 'Bid',
        message: bid,
      })
      assert.equal(await f.requester.bidDigest(bid), offChain)
      const separator = await f.requester.clients.publicClient.readContract({
        ...market(),
        functionName: 'domainSeparator',
      })
      assert.match(separator, /^0x[0-9a-f]{64}$/)
    })

    it('rejects zero addresses at construction', async () => {
      const { walletClient, publicClient } = f.deployer.clients
      const config = {
        challengeWindow: 1,
        treasury: zeroAddress,
        feeBps: 0,
        collateralBps: 0,
        minCollateral: 0n,
      }
      for (const args of [
        [zeroAddress, f.deployment.registry, f.deployer.address, config],
        [f.deployment.token, zeroAddress, f.deployer.address, config],
        [f.deployment.token, f.deployment.registry, zeroAddress, config],
      ] as const) {
        await assertRevert(
          (async () => {
            try {
              const hash = await walletClient.deployContract({
                abi: jobMarketAbi,
                bytecode: jobMarketBytecode,
                args,
              })
              await publicClient.waitForTransactionReceipt({ hash })
            } catch (err) {
              throw ChainError.from(err, 'deploy JobMarket')
            }
          })(),
          'JobMarket__ZeroAddress',
        )
      }
    })

    it('exposes its wiring and constants', async () => {
      const read = f.deployer.clients.publicClient
      const get = <
        F extends
          | 'BID_TYPEHASH'
          | 'MAX_FEE_BPS'
          | 'MAX_COLLATERAL_BPS'
          | 'SLASH_MISSED_COMMIT'
          | 'SLASH_MISSED_REVEAL'
          | 'DEFAULT_ADMIN_ROLE'
          | 'token'
          | 'registry'
          | 'challengeWindow',
      >(
        functionName: F,
      ) => read.readContract({ ...market(), functionName })
      assert.equal(
        await get('BID_TYPEHASH'),
        keccak256(toHex('Bid(uint256 jobId,address provider,uint256 pricePerFuel,uint64 expiry)')),
      )
      assert.equal(await get('MAX_FEE_BPS'), 1_000)
      assert.equal(await get('MAX_COLLATERAL_BPS'), 10_000)
      assert.equal(await get('SLASH_MISSED_COMMIT'), bytes32('MISSED_COMMIT'))
      assert.equal(await get('SLASH_MISSED_REVEAL'), bytes32('MISSED_REVEAL'))
      assert.equal(await get('token'), f.deployment.token)
      assert.equal(await get('registry'), f.deployment.registry)
      assert.equal(await get('challengeWindow'), CHALLENGE_WINDOW)
      const admin = await get('DEFAULT_ADMIN_ROLE')
      assert.equal(admin, bytes32(''))
      assert.equal(
        await read.readContract({ ...market(), functionName: 'hasRole', args: [admin, f.deployer.address] }),
        true,
      )
      const registryAdmin = await read.readContract({
        address: f.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'DEFAULT_ADMIN_ROLE',
      })
      assert.equal(registryAdmin, admin)
    })

    it('reports a missing job as status None with zeros', async () => {
      const job = await f.requester.getJob(999_999n)
      assert.equal(job.status, 'None')
      assert.equal(job.requester, zeroAddress)
      assert.equal(job.escrow, 0n)
    })
  })

  describe('createJob', () => {
    it('escrows maxPrice x maxFuel and records the terms', async () => {
      const before = await balance(f.requester)
      const now = await f.now()
      const created = await f.requester.createJob(jobTerms(now))
      const job = await f.requester.getJob(created.jobId)
      assert.equal(job.status, 'Open')
      assert.equal(job.requester, f.requester.address)
      assert.equal(job.escrow, MAX_PRICE * MAX_FUEL)
      assert.equal(job.awardDeadline, now + 600n)
      assert.equal(job.deadline, job.awardDeadline)
      assert.equal(job.commitWindow, COMMIT_WINDOW)
      assert.equal(job.revealWindow, REVEAL_WINDOW)
      assert.equal(job.feeBps, 0)
      assert.equal(await balance(f.requester), before - MAX_PRICE * MAX_FUEL)
      assert.equal(await balance(f.deployment.market), MAX_PRICE * MAX_FUEL)
    })

    it('numbers jobs from 1, also under concurrent writes of one signer', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => j.open()))
      const ids = results.map((r) => r.jobId).sort((a, b) => Number(a - b))
      assert.deepEqual(ids, [1n, 2n, 3n, 4n, 5n, 6n])
      const count = await f.requester.clients.publicClient.readContract({
        ...market(),
        functionName: 'jobCount',
      })
      assert.equal(count, 6n)
    })

    it('rejects bad terms', async () => {
      const now = await f.now()
      for (const bad of [{ maxPricePerFuel: 0n }, { maxFuel: 0n }, { maxPricePerFuel: 2n ** 96n }]) {
        await assertRevert(f.requester.createJob(jobTerms(now, bad)), 'JobMarket__InvalidParams')
      }
      for (const bad of [
        { awardDeadline: now },
        { bidDeadline: now + 601n },
        { commitWindow: 0n },
        { revealWindow: 0n },
        { awardDeadline: 2n ** 48n },
      ]) {
        await assertRevert(f.requester.createJob(jobTerms(now, bad)), 'JobMarket__InvalidDeadlines')
      }
    })

    it('needs the allowance', async () => {
      await f.requester.approve(f.deployment.market, 0n)
      await assertRevert(f.requester.createJob(jobTerms(await f.now())), 'ERC20InsufficientAllowance')
    })
  })

  describe('createJobWithPermit', () => {
    it('funds a job in one transaction without a prior approval', async () => {
      await f.requester.approve(f.deployment.market, 0n)
      const before = await balance(f.requester)
      const created = await f.requester.createJobWithPermit(jobTerms(await f.now()))
      assert.equal((await f.requester.getJob(created.jobId)).status, 'Open')
      assert.equal(await balance(f.requester), before - MAX_PRICE * MAX_FUEL)
      // the permit covered exactly the escrow, and the escrow used it up
      const allowance = await f.requester.clients.publicClient.readContract({
        address: f.deployment.token,
        abi: computeTokenAbi,
        functionName: 'allowance',
        args: [f.requester.address, f.deployment.market],
      })
      assert.equal(allowance, 0n)
    })

    it('still opens the job when the permit was front-run (allowance already there)', async () => {
      await f.requester.approve(f.deployment.market, 0n)
      const terms = jobTerms(await f.now())
      const escrow = terms.maxPricePerFuel * terms.maxFuel
      const permit = await f.requester.signPermit(f.deployment.market, escrow, (await f.now()) + 3600n)
      // someone else submits the permit first
      await send(f.stranger, {
        address: f.deployment.token,
        abi: computeTokenAbi,
        functionName: 'permit',
        args: [
          f.requester.address,
          f.deployment.market,
          escrow,
          permit.deadline,
          permit.v,
          permit.r,
          permit.s,
        ],
      })
      const receipt = await send(f.requester, {
        ...market(),
        functionName: 'createJobWithPermit',
        args: [
          { ...terms, commitWindow: Number(terms.commitWindow), revealWindow: Number(terms.revealWindow) },
          escrow,
          permit.deadline,
          permit.v,
          permit.r,
          permit.s,
        ],
      })
      assert.equal(receipt.status, 'success')
    })

    it('fails cleanly when the permit is bad and there is no allowance', async () => {
      await f.requester.approve(f.deployment.market, 0n)
      const terms = jobTerms(await f.now())
      const permit = await f.requester.signPermit(f.deployment.market, 1n, (await f.now()) + 3600n)
      await assertRevert(
        send(f.requester, {
          ...market(),
          functionName: 'createJobWithPermit',
          args: [
            { ...terms, commitWindow: Number(terms.commitWindow), revealWindow: Number(terms.revealWindow) },
            1n,
            permit.deadline,
            permit.v,
            permit.r,
            permit.s,
          ],
        }),
        'ERC20InsufficientAllowance',
      )
    })
  })

  describe('cancelJob', () => {
    it('refunds the whole escrow, only to the requester, only while open', async () => {
      const before = await balance(f.requester)
      const { jobId } = await j.open()
      await assertRevert(f.stranger.cancelJob(jobId), 'JobMarket__NotRequester')
      await f.requester.cancelJob(jobId)
      assert.equal(await balance(f.requester), before)
      assert.equal((await f.requester.getJob(jobId)).status, 'Cancelled')
      await assertRevert(f.requester.cancelJob(jobId), 'JobMarket__InvalidStatus')
      const awarded = await j.awarded()
      await assertRevert(f.requester.cancelJob(awarded), 'JobMarket__InvalidStatus')
      await assertRevert(f.requester.cancelJob(999n), 'JobMarket__JobNotFound')
      await assertConserved(f)
    })
  })

  describe('award', () => {
    it('locks collateral and starts the commit deadline', async () => {
      const { jobId } = await j.open()
      const price = 300_000_000n
      const result = await f.requester.award(await j.bid(f.provider, jobId, price))
      const job = await f.requester.getJob(jobId)
      assert.equal(job.status, 'Awarded')
      assert.equal(job.provider, f.provider.address)
      assert.equal(job.pricePerFuel, price)
      assert.equal(job.collateral, MIN_COLLATERAL)
      const block = await f.requester.clients.publicClient.getBlock({ blockNumber: result.blockNumber })
      assert.equal(job.deadline, block.timestamp + COMMIT_WINDOW)
      assert.equal(job.executionDeadline, job.deadline)
      assert.equal(await f.provider.lockedOf(f.provider.address), MIN_COLLATERAL)
    })

    it('lets only the requester award, only while open and before the award deadline', async () => {
      const { jobId } = await j.open()
      await assertRevert(f.stranger.award(await j.bid(f.provider, jobId)), 'JobMarket__NotRequester')
      await f.advance(601)
      await assertRevert(f.requester.award(await j.bid(f.provider, jobId)), 'JobMarket__DeadlinePassed')
      const awarded = await j.awarded()
      await assertRevert(f.requester.award(await j.bid(f.provider2, awarded)), 'JobMarket__InvalidStatus')
    })

    it('rejects a bid signed by another key, for another job, or tampered', async () => {
      const first = await j.open()
      const second = await j.open()
      const forged = await j.bid(f.stranger, first.jobId)
      await assertRevert(
        f.requester.award({ ...forged, provider: f.provider.address }),
        'JobMarket__InvalidBidSignature',
      )
      const bid = await j.bid(f.provider, first.jobId)
      await assertRevert(f.requester.award({ ...bid, jobId: second.jobId }), 'JobMarket__InvalidBidSignature')
      await assertRevert(
        f.requester.award({ ...bid, pricePerFuel: bid.pricePerFuel - 1n }),
        'JobMarket__InvalidBidSignature',
      )
      await assertRevert(
        f.requester.award({ ...bid, expiry: bid.expiry + 1n }),
        'JobMarket__InvalidBidSignature',
      )
      await assertRevert(f.requester.award({ ...bid, signature: '0x1234' }), 'JobMarket__InvalidBidSignature')
      await f.requester.award(bid)
    })

    it('rejects an expired bid and a price above the maximum', async () => {
      const { jobId } = await j.open()
      const now = await f.now()
      await assertRevert(
        f.requester.award(await f.provider.signBid({ jobId, pricePerFuel: 1n, expiry: now - 1n })),
        'JobMarket__BidExpired',
      )
      await assertRevert(
        f.requester.award(await j.bid(f.provider, jobId, MAX_PRICE + 1n)),
        'JobMarket__PriceAboveMax',
      )
      await f.requester.award(await j.bid(f.provider, jobId, MAX_PRICE))
    })

    it('rejects an unstaked provider and one without free stake for the collateral', async () => {
      const { jobId } = await j.open()
      await assertRevert(f.requester.award(await j.bid(f.stranger, jobId)), 'ProviderRegistry__NotEligible')
      await send(f.deployer, { ...market(), functionName: 'setCollateralPolicy', args: [MIN_STAKE + 1n, 0] })
      await assertRevert(
        f.requester.award(await j.bid(f.provider, jobId)),
        'ProviderRegistry__InsufficientFreeStake',
      )
    })

    it('locks collateral proportional to the job when the policy says so', async () => {
      await send(f.deployer, { ...market(), functionName: 'setCollateralPolicy', args: [1n, 2_000] })
      const price = 10_000_000n
      const expected = (price * MAX_FUEL * 2_000n) / 10_000n
      assert.equal(await f.requester.collateralFor(price, MAX_FUEL), expected)
      const { jobId } = await j.open()
      await f.provider.approve(f.deployment.registry, expected)
      await f.provider.stake(expected)
      await f.requester.award(await j.bid(f.provider, jobId, price))
      assert.equal((await f.requester.getJob(jobId)).collateral, expected)
      assert.equal(await f.requester.collateralFor(1n, 1n), 1n, 'the minimum applies to small jobs')
    })
  })

  describe('commitResult and revealResult', () => {
    it('lets only the awarded provider commit, before its deadline, to a non-empty commitment', async () => {
      const jobId = await j.awarded()
      const commitment = resultCommitment({
        resultHash: bytes32('r'),
        fuelUsed: 1n,
        salt: bytes32('s'),
        provider: f.provider.address,
      })
      await assertRevert(f.provider2.commitResult(jobId, commitment), 'JobMarket__NotProvider')
      await assertRevert(f.requester.commitResult(jobId, commitment), 'JobMarket__NotProvider')
      await assertRevert(f.provider.commitResult(jobId, bytes32('')), 'JobMarket__EmptyCommitment')
      const { jobId: open } = await j.open()
      await assertRevert(f.provider.commitResult(open, commitment), 'JobMarket__InvalidStatus')
      await assertRevert(f.provider.commitResult(424242n, commitment), 'JobMarket__JobNotFound')
      await f.advance(COMMIT_WINDOW + 1n)
      await assertRevert(f.provider.commitResult(jobId, commitment), 'JobMarket__DeadlinePassed')
    })

    it('moves to Committed with a reveal deadline, then to Revealed', async () => {
      const job = await j.committed()
      const committed = await f.requester.getJob(job.jobId)
      assert.equal(committed.status, 'Committed')
      assert.equal(committed.deadline, (await f.now()) + REVEAL_WINDOW)
      await f.provider.revealResult(job)
      const revealed = await f.requester.getJob(job.jobId)
      assert.equal(revealed.status, 'Revealed')
      assert.equal(revealed.resultHash, job.resultHash)
      assert.equal(revealed.fuelUsed, job.fuelUsed)
      assert.equal(revealed.revealedAt, await f.now())
    })

    it('rejects a reveal by another account, after the deadline, or not opening the commitment', async () => {
      const job = await j.committed(f.provider, 1000n, bytes32('right-salt'))
      await assertRevert(f.provider2.revealResult(job), 'JobMarket__NotProvider')
      await assertRevert(
        f.provider.revealResult({ ...job, salt: bytes32('wrong-salt') }),
        'JobMarket__CommitmentMismatch',
      )
      await assertRevert(f.provider.revealResult({ ...job, fuelUsed: 999n }), 'JobMarket__CommitmentMismatch')
      await assertRevert(
        f.provider.revealResult({ ...job, resultHash: bytes32('other') }),
        'JobMarket__CommitmentMismatch',
      )
      const awarded = await j.awarded(f.provider2)
      await assertRevert(f.provider2.revealResult({ ...job, jobId: awarded }), 'JobMarket__InvalidStatus')
      await f.advance(REVEAL_WINDOW + 1n)
      await assertRevert(f.provider.revealResult(job), 'JobMarket__DeadlinePassed')
    })

    it('rejects fuelUsed above maxFuel even when committed to', async () => {
      const job = await j.committed(f.provider, MAX_FUEL + 1n)
      await assertRevert(f.provider.revealResult(job), 'JobMarket__FuelAboveMax')
    })
  })

  describe('finalize', () => {
    it('pays fuel x price, refunds the rest, releases collateral and records reputation', async () => {
      const supply = await f.deployer.totalSupply()
      const requesterBefore = await balance(f.requester)
      const providerBefore = await balance(f.provider)
      const { jobId, fuelUsed } = await j.revealed(f.provider, 4_321_000n)
      const { pricePerFuel } = await f.requester.getJob(jobId)
      const result = await f.requester.finalize(jobId)
      assert.equal((await f.requester.getJob(jobId)).status, 'Finalized')
      const paid = fuelUsed * pricePerFuel
      assert.equal(await balance(f.provider), providerBefore + paid)
      assert.equal(await balance(f.requester), requesterBefore - paid)
      assert.equal(await balance(f.deployment.market), 0n)
      assert.equal(await f.provider.lockedOf(f.provider.address), 0n)
      assert.equal(await f.deployer.totalSupply(), supply)
      const event = result.receipt.logs
        .filter((l) => l.address.toLowerCase() === f.deployment.market.toLowerCase())
        .map((l) => decodeEventLog({ abi: jobMarketAbi, ...l }))
        .find((e) => e.eventName === 'JobFinalized')
      assert.deepEqual(event?.args, {
        jobId,
        provider: f.provider.address,
        paid,
        fee: 0n,
        refunded: MAX_PRICE * MAX_FUEL - paid,
      })
      const rep = await f.requester.reputationOf(f.provider.address)
      assert.equal(rep.completed, 1n)
      assert.equal(rep.unitsServed, fuelUsed)
      await assertConserved(f)
    })

    it('lets a stranger finalize only after the challenge window, and only once', async () => {
      const { jobId } = await j.revealed()
      await assertRevert(f.stranger.finalize(jobId), 'JobMarket__ChallengeWindowOpen')
      await f.advance(CHALLENGE_WINDOW - 10n)
      await assertRevert(f.stranger.finalize(jobId), 'JobMarket__ChallengeWindowOpen')
      await f.advance(10n)
      await f.stranger.finalize(jobId)
      await assertRevert(f.requester.finalize(jobId), 'JobMarket__InvalidStatus')
      await assertRevert(f.stranger.finalize(jobId), 'JobMarket__InvalidStatus')
      await assertRevert(f.stranger.finalize(777n), 'JobMarket__JobNotFound')
    })

    it('takes the protocol fee from the payment to the treasury, at the rate of job creation', async () => {
      await send(f.deployer, { ...market(), functionName: 'setFee', args: [f.treasury, 250] })
      const providerBefore = await balance(f.provider)
      const treasuryBefore = await balance(f.treasury)
      const { jobId, fuelUsed } = await j.revealed(f.provider, 1_000_000n)
      assert.equal((await f.requester.getJob(jobId)).feeBps, 250)
      // a later fee change does not touch this job
      await send(f.deployer, { ...market(), functionName: 'setFee', args: [f.treasury, 1_000] })
      await f.requester.finalize(jobId)
      const paid = fuelUsed * (MAX_PRICE / 2n)
      const fee = (paid * 250n) / 10_000n
      assert.equal(await balance(f.treasury), treasuryBefore + fee)
      assert.equal(await balance(f.provider), providerBefore + paid - fee)
      await assertConserved(f)
    })

    it('lets the provider keep the fee when the treasury was removed after the job was created', async () => {
      await send(f.deployer, { ...market(), functionName: 'setFee', args: [f.treasury, 500] })
      const providerBefore = await balance(f.provider)
      const { jobId, fuelUsed } = await j.revealed()
      await send(f.deployer, { ...market(), functionName: 'setFee', args: [zeroAddress, 0] })
      await f.requester.finalize(jobId)
      assert.equal(await balance(f.provider), providerBefore + fuelUsed * (MAX_PRICE / 2n))
    })
  })

  describe('reclaimExpired', () => {
    it('refunds an open job only after its award deadline', async () => {
      const before = await balance(f.requester)
      const { jobId } = await j.open()
      await assertRevert(f.stranger.reclaimExpired(jobId), 'JobMarket__NotExpired')
      await f.advance(601)
      await f.stranger.reclaimExpired(jobId)
      assert.equal((await f.requester.getJob(jobId)).status, 'Expired')
      assert.equal(await balance(f.requester), before)
      await assertRevert(f.stranger.reclaimExpired(jobId), 'JobMarket__InvalidStatus')
      await assertRevert(f.stranger.reclaimExpired(31337n), 'JobMarket__JobNotFound')
    })

    it('refunds and slashes a provider that missed its commit deadline, with evidence', async () => {
      const requesterBefore = await balance(f.requester)
      const jobId = await j.awarded()
      const { deadline } = await f.requester.getJob(jobId)
      await assertRevert(f.stranger.reclaimExpired(jobId), 'JobMarket__NotExpired')
      await f.advance(COMMIT_WINDOW + 1n)
      const result = await f.stranger.reclaimExpired(jobId)
      assert.equal((await f.requester.getJob(jobId)).status, 'Expired')
      assert.equal(await balance(f.requester), requesterBefore + MIN_COLLATERAL)
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE - MIN_COLLATERAL)
      assert.equal(await f.provider.lockedOf(f.provider.address), 0n)
      const slashed = result.receipt.logs
        .filter((l) => l.address.toLowerCase() === f.deployment.registry.toLowerCase())
        .map((l) => decodeEventLog({ abi: providerRegistryAbi, ...l }))
        .find((e) => e.eventName === 'Slashed')
      assert.ok(slashed && slashed.eventName === 'Slashed')
      assert.equal(slashed.args.amount, MIN_COLLATERAL)
      assert.equal(slashed.args.slasher, f.deployment.market)
      assert.equal(slashed.args.reason, bytes32('MISSED_COMMIT'))
      assert.equal(
        slashed.args.evidence,
        encodeAbiParameters([{ type: 'uint256' }, { type: 'uint48' }], [jobId, Number(deadline)]),
      )
      const rep = await f.requester.reputationOf(f.provider.address)
      assert.equal(rep.failed, 1n)
      assert.equal(rep.slashedAmount, MIN_COLLATERAL)
      await assertConserved(f)
    })

    it('refunds and slashes a provider that committed but never revealed', async () => {
      const { jobId, ...job } = await j.committed()
      await f.advance(REVEAL_WINDOW + 1n)
      await assertRevert(f.provider.revealResult({ jobId, ...job }), 'JobMarket__DeadlinePassed')
      const result = await f.stranger.reclaimExpired(jobId)
      assert.equal((await f.requester.getJob(jobId)).status, 'Expired')
      assert.equal(await f.provider.lockedOf(f.provider.address), 0n)
      const reasons = result.receipt.logs
        .filter((l) => l.address.toLowerCase() === f.deployment.registry.toLowerCase())
        .map((l) => decodeEventLog({ abi: providerRegistryAbi, ...l }))
        .flatMap((e) => (e.eventName === 'Slashed' ? [e.args.reason] : []))
      assert.deepEqual(reasons, [bytes32('MISSED_REVEAL')])
      await assertConserved(f)
    })

    it('does not touch a revealed or finalized job', async () => {
      const { jobId } = await j.revealed()
      await f.advance(REVEAL_WINDOW + COMMIT_WINDOW)
      await assertRevert(f.stranger.reclaimExpired(jobId), 'JobMarket__InvalidStatus')
    })
  })

  describe('reaward', () => {
    it('replaces a provider that missed its deadline: slash to the requester, new commit deadline', async () => {
      const requesterBefore = await balance(f.requester)
      const jobId = await j.awarded(f.provider)
      const replacement = await j.bid(f.provider2, jobId, MAX_PRICE / 4n)
      await assertRevert(f.requester.reaward(replacement), 'JobMarket__NotExpired')
      await f.advance(COMMIT_WINDOW + 1n)
      await assertRevert(f.stranger.reaward(replacement), 'JobMarket__NotRequester')
      await assertRevert(f.requester.reaward(await j.bid(f.provider, jobId)), 'JobMarket__SameProvider')
      const fresh = await j.bid(f.provider2, jobId, MAX_PRICE / 4n)
      await f.requester.reaward(fresh)
      const job = await f.requester.getJob(jobId)
      assert.equal(job.status, 'Awarded')
      assert.equal(job.provider, f.provider2.address)
      assert.equal(job.pricePerFuel, MAX_PRICE / 4n)
      assert.equal(job.deadline, (await f.now()) + COMMIT_WINDOW)
      assert.equal(job.commitment, bytes32(''))
      assert.equal(await f.provider.lockedOf(f.provider.address), 0n)
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE - MIN_COLLATERAL)
      // the requester got the slashed collateral and still has the job escrowed
      assert.equal(await balance(f.requester), requesterBefore - MAX_PRICE * MAX_FUEL + MIN_COLLATERAL)
      const salt = bytes32('s2')
      const resultHash = bytes32('r2')
      await f.provider2.commitResult(
        jobId,
        resultCommitment({ resultHash, fuelUsed: 10n, salt, provider: f.provider2.address }),
      )
      await f.provider2.revealResult({ jobId, resultHash, fuelUsed: 10n, salt })
      await f.requester.finalize(jobId)
      assert.equal(await balance(f.requester), requesterBefore + MIN_COLLATERAL - 10n * (MAX_PRICE / 4n))
      await assertConserved(f)
    })

    it('works from Committed (missed reveal) and not from Open', async () => {
      const { jobId } = await j.committed(f.provider)
      await f.advance(REVEAL_WINDOW + 1n)
      await f.requester.reaward(await j.bid(f.provider2, jobId))
      assert.equal((await f.requester.getJob(jobId)).provider, f.provider2.address)
      const { jobId: open } = await j.open()
      await assertRevert(f.requester.reaward(await j.bid(f.provider2, open)), 'JobMarket__InvalidStatus')
      await assertRevert(f.requester.reaward(await j.bid(f.provider2, 999n)), 'JobMarket__JobNotFound')
    })
  })

  describe('settleByVerifier', () => {
    it('is closed to accounts without VERIFIER_ROLE', async () => {
      const jobId = await j.awarded()
      await assertRevert(
        f.verifier.settleByVerifier({
          jobId,
          fuelToPay: 0n,
          providerAtFault: true,
          reason: bytes32('x'),
          evidence: '0x',
        }),
        'AccessControlUnauthorizedAccount',
      )
    })

    it('settles a revealed job in the provider favour, or slashes it to the verifier', async () => {
      await send(f.deployer, {
        ...market(),
        functionName: 'grantRole',
        args: [VERIFIER_ROLE, f.verifier.address],
      })
      const good = await j.revealed(f.provider, 500n)
      const providerBefore = await balance(f.provider)
      await f.verifier.settleByVerifier({
        jobId: good.jobId,
        fuelToPay: 400n,
        providerAtFault: false,
        reason: bytes32('OK'),
        evidence: '0x',
      })
      assert.equal(await balance(f.provider), providerBefore + 400n * (MAX_PRICE / 2n))
      assert.equal((await f.requester.getJob(good.jobId)).status, 'Finalized')
      assert.equal((await f.requester.reputationOf(f.provider.address)).completed, 1n)

      const bad = await j.committed(f.provider2)
      const requesterBefore = await balance(f.requester)
      const verifierBefore = await balance(f.verifier)
      await f.verifier.settleByVerifier({
        jobId: bad.jobId,
        fuelToPay: 0n,
        providerAtFault: true,
        reason: bytes32('WRONG_RESULT'),
        evidence: bytes32('proof'),
      })
      // The escrow goes back to the requester; the slashed collateral to the verifier, which
      // shares it out (requester, referees, challenger).
      assert.equal(await balance(f.requester), requesterBefore + MAX_PRICE * MAX_FUEL)
      assert.equal(await balance(f.verifier), verifierBefore + MIN_COLLATERAL)
      assert.equal(await f.provider2.stakeOf(f.provider2.address), MIN_STAKE - MIN_COLLATERAL)
      assert.equal((await f.requester.reputationOf(f.provider2.address)).failed, 1n)
      await assertConserved(f)
    })

    it('rejects unknown, open or settled jobs and fuel above the maximum', async () => {
      await send(f.deployer, {
        ...market(),
        functionName: 'grantRole',
        args: [VERIFIER_ROLE, f.verifier.address],
      })
      const settle = (jobId: bigint, fuelToPay = 0n) =>
        f.verifier.settleByVerifier({
          jobId,
          fuelToPay,
          providerAtFault: false,
          reason: bytes32(''),
          evidence: '0x',
        })
      await assertRevert(settle(4040n), 'JobMarket__JobNotFound')
      const { jobId: open } = await j.open()
      await assertRevert(settle(open), 'JobMarket__InvalidStatus')
      const awarded = await j.awarded()
      await assertRevert(settle(awarded, MAX_FUEL + 1n), 'JobMarket__FuelAboveMax')
      await settle(awarded, MAX_FUEL)
      await assertRevert(settle(awarded), 'JobMarket__InvalidStatus')
    })
  })

  describe('holdForVerification', () => {
    const grantVerifier = () =>
      send(f.deployer, { ...market(), functionName: 'grantRole', args: [VERIFIER_ROLE, f.verifier.address] })
    const hold = (jobId: bigint) =>
      send(f.verifier, { ...market(), functionName: 'holdForVerification', args: [jobId] })

    it('is closed to accounts without VERIFIER_ROLE', async () => {
      const jobId = await j.awarded()
      await assertRevert(hold(jobId), 'AccessControlUnauthorizedAccount')
    })

    it('gates reveals only when held by holdGated, and only before the commit', async () => {
      const holdGated = (jobId: bigint) =>
        send(f.verifier, { ...market(), functionName: 'holdGated', args: [jobId, 0n] })
      const awarded = await j.awarded()
      await assertRevert(holdGated(awarded), 'AccessControlUnauthorizedAccount')
      await grantVerifier()
      const committed = await j.committed(f.provider)
      await assertRevert(holdGated(committed.jobId), 'JobMarket__InvalidStatus')
      // A plain hold gates nothing: the provider reveals as usual.
      await hold(committed.jobId)
      assert.equal(await f.provider.revealOpen(committed.jobId), true)
    })

    it('stops finalize and reaward until the verifier settles; a missed reveal still expires', async () => {
      await grantVerifier()
      const revealed = await j.revealed(f.provider, 700n)
      const receipt = await hold(revealed.jobId)
      const held = receipt.logs
        .map((log) => decodeEventLog({ abi: jobMarketAbi, ...log }))
        .find((e) => e.eventName === 'JobHeld')
      assert.deepEqual(held?.args, { jobId: revealed.jobId, verifier: f.verifier.address })
      await assertRevert(f.requester.finalize(revealed.jobId), 'JobMarket__OnHold')
      await f.advance(CHALLENGE_WINDOW + 1n)
      await assertRevert(f.stranger.finalize(revealed.jobId), 'JobMarket__OnHold')
      await f.verifier.settleByVerifier({
        jobId: revealed.jobId,
        fuelToPay: 700n,
        providerAtFault: false,
        reason: bytes32('AGREED'),
        evidence: '0x',
      })
      assert.equal((await f.requester.getJob(revealed.jobId)).status, 'Finalized')

      const missed = await j.committed(f.provider)
      await hold(missed.jobId)
      await f.advance(REVEAL_WINDOW + 1n)
      await assertRevert(f.requester.reaward(await j.bid(f.provider2, missed.jobId)), 'JobMarket__OnHold')
      await f.stranger.reclaimExpired(missed.jobId)
      assert.equal((await f.requester.getJob(missed.jobId)).status, 'Expired')
      await assertConserved(f)
    })

    it('refuses open and settled jobs, and revealed jobs once the challenge window is over', async () => {
      await grantVerifier()
      await assertRevert(hold(4040n), 'JobMarket__JobNotFound')
      const { jobId: open } = await j.open()
      await assertRevert(hold(open), 'JobMarket__InvalidStatus')
      const late = await j.revealed(f.provider, 10n)
      await f.advance(CHALLENGE_WINDOW)
      await assertRevert(hold(late.jobId), 'JobMarket__DeadlinePassed')
      await f.stranger.finalize(late.jobId)
      await assertRevert(hold(late.jobId), 'JobMarket__InvalidStatus')
    })
  })

  describe('claim', () => {
    it('has nothing to pay out when every transfer went through', async () => {
      assert.equal(await f.stranger.owed(f.stranger.address), 0n)
      await assertRevert(f.stranger.claim(), 'JobMarket__NothingOwed')
    })
  })

  describe('admin', () => {
    it('lets only the admin set the fee, within bounds, with a treasury', async () => {
      await assertRevert(
        send(f.stranger, { ...market(), functionName: 'setFee', args: [f.treasury, 1] }),
        'AccessControlUnauthorizedAccount',
      )
      await assertRevert(
        send(f.deployer, { ...market(), functionName: 'setFee', args: [f.treasury, 1_001] }),
        'JobMarket__FeeTooHigh',
      )
      await assertRevert(
        send(f.deployer, { ...market(), functionName: 'setFee', args: [zeroAddress, 1] }),
        'JobMarket__ZeroAddress',
      )
      await send(f.deployer, { ...market(), functionName: 'setFee', args: [f.treasury, 1_000] })
      const read = f.deployer.clients.publicClient
      assert.equal(await read.readContract({ ...market(), functionName: 'feeBps' }), 1_000)
      assert.equal(await read.readContract({ ...market(), functionName: 'treasury' }), f.treasury)
    })

    it('lets only the admin set the collateral policy, within bounds', async () => {
      await assertRevert(
        send(f.stranger, { ...market(), functionName: 'setCollateralPolicy', args: [1n, 1] }),
        'AccessControlUnauthorizedAccount',
      )
      await assertRevert(
        send(f.deployer, { ...market(), functionName: 'setCollateralPolicy', args: [1n, 10_001] }),
        'JobMarket__CollateralTooHigh',
      )
      await send(f.deployer, { ...market(), functionName: 'setCollateralPolicy', args: [5n, 10_000] })
      const read = f.deployer.clients.publicClient
      assert.equal(await read.readContract({ ...market(), functionName: 'minCollateral' }), 5n)
      assert.equal(await read.readContract({ ...market(), functionName: 'collateralBps' }), 10_000)
      assert.equal(await f.deployer.collateralFor(2n ** 100n, 1n), 2n ** 96n - 1n, 'capped at uint96')
    })

    it('holds the registry roles it needs and nothing else', async () => {
      const read = f.deployer.clients.publicClient
      const registry = { address: f.deployment.registry, abi: providerRegistryAbi } as const
      assert.equal(
        await read.readContract({
          ...registry,
          functionName: 'hasRole',
          args: [SLASHER_ROLE, f.deployment.market],
        }),
        true,
      )
      assert.equal(
        await read.readContract({
          ...registry,
          functionName: 'hasRole',
          args: [SLASHER_ROLE, f.deployer.address],
        }),
        false,
      )
    })
  })
})
