/**
 * Model-based property test: fast-check draws random sequences of 1,000 market and registry
 * operations (good and bad: wrong caller, wrong state, past deadlines, prices above the max,
 * fuel above the limit, stake that is not there). Each operation runs on the embedded chain;
 * when it succeeds, a plain TypeScript model of every balance and stake applies the transition
 * the contracts promise, and after every operation the chain must match the model exactly and:
 *   - total supply == sum of balances; the market holds exactly the open escrow (+ owed), the
 *     registry exactly the stakes, and each provider's locked stake is exactly the collateral
 *     of its running jobs;
 *   - a provider is never paid more than maxFuel x price;
 *   - a refunded requester gets back at least the whole escrow (never pays);
 *   - a failed operation reverts with a named custom error, never a panic, and changes nothing.
 * At the end every job is driven to a terminal state and nothing may stay locked.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type BazaarContracts, ChainError, resultCommitment, type StakeAccount } from '@bazaar/chain'
import { type JobStatus, jobMarketAbi } from '@bazaar/contracts'
import fc from 'fast-check'
import type { Address, Hex } from 'viem'
import { bytes32, type Fixture, send, setupFixture, VERIFIER_ROLE } from './fixture.ts'

const OPS_PER_RUN = 1_000
const RUNS = 2
const FEE_BPS = 250n
const MIN_STAKE = 1_000_000_000n
const MIN_COLLATERAL = 1_000n
const COLLATERAL_BPS = 5_000n
const CHALLENGE = 600n
const UNBONDING = 1_800

type Op =
  | { kind: 'create'; who: number; price: bigint; fuel: bigint; windows: [number, number, number] }
  | { kind: 'award' | 'reaward'; job: number; strict: boolean; provider: number; priceBps: bigint }
  | { kind: 'commit'; job: number; strict: boolean; fuelBps: bigint }
  | { kind: 'reveal' | 'reclaim'; job: number; strict: boolean }
  | { kind: 'finalize' | 'cancel'; job: number; strict: boolean; byRequester: boolean }
  | { kind: 'settle'; job: number; strict: boolean; fuelBps: bigint; fault: boolean; byRequester?: undefined }
  | { kind: 'advance'; seconds: number }
  | { kind: 'topUp' | 'unbond'; provider: number; amount: bigint }
  | { kind: 'cancelUnbond' | 'withdraw'; provider: number }

interface ModelJob {
  id: bigint
  requester: number
  escrow: bigint
  maxPrice: bigint
  maxFuel: bigint
  status: JobStatus
  provider: number
  price: bigint
  collateral: bigint
  fuel: bigint
  salt: Hex
  resultHash: Hex
}

const jobPick = {
  job: fc.nat(),
  strict: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, fc.constant(false)),
}
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      who: fc.nat(1),
      price: fc.bigInt(1n, 1_000n),
      fuel: fc.bigInt(1n, 1_000_000n),
      windows: fc.tuple(
        fc.integer({ min: 30, max: 900 }),
        fc.integer({ min: 1, max: 900 }),
        fc.integer({ min: 1, max: 900 }),
      ),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('award' as const),
      ...jobPick,
      provider: fc.nat(2),
      priceBps: fc.bigInt(1n, 11_000n),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      ...jobPick,
      fuelBps: fc.bigInt(0n, 10_100n),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reveal' as const), ...jobPick }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('finalize' as const), ...jobPick, byRequester: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('cancel' as const), ...jobPick, byRequester: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reclaim' as const), ...jobPick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reaward' as const),
      ...jobPick,
      provider: fc.nat(2),
      priceBps: fc.bigInt(1n, 11_000n),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      ...jobPick,
      fuelBps: fc.bigInt(0n, 10_100n),
      fault: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      seconds: fc.integer({ min: 0, max: 900 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('topUp' as const, 'unbond' as const),
      provider: fc.nat(2),
      amount: fc.bigInt(1n, 2n * MIN_STAKE),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('cancelUnbond' as const, 'withdraw' as const),
      provider: fc.nat(2),
    }),
  },
)

/** Statuses an operation can succeed from (used to aim most picks at a job where it can). */
const WANTS: Record<string, JobStatus[]> = {
  award: ['Open'],
  cancel: ['Open'],
  reaward: ['Awarded', 'Committed'],
  commit: ['Awarded'],
  reveal: ['Committed'],
  finalize: ['Revealed'],
  reclaim: ['Open', 'Awarded', 'Committed'],
  settle: ['Awarded', 'Committed', 'Revealed'],
}
const ACTIVE: JobStatus[] = ['Open', 'Awarded', 'Committed', 'Revealed']

describe('settlement invariants under random operation sequences', () => {
  let f: Fixture
  let requesters: BazaarContracts[]
  let providers: BazaarContracts[]

  before(async () => {
    f = await setupFixture({
      deploy: {
        minStake: MIN_STAKE,
        minCollateral: MIN_COLLATERAL,
        collateralBps: Number(COLLATERAL_BPS),
        challengeWindow: CHALLENGE,
        unbondingDelay: UNBONDING,
        jailDuration: 3_600,
        maxFaults: 3,
        feeBps: Number(FEE_BPS),
      },
      stake: 3n * MIN_STAKE,
    })
    requesters = [f.requester, f.stranger]
    providers = [f.provider, f.provider2, f.verifier]
    await f.verifier.approve(f.deployment.registry, 10n ** 30n)
    await f.verifier.stake(3n * MIN_STAKE)
    await send(f.deployer, {
      address: f.deployment.market,
      abi: jobMarketAbi,
      functionName: 'setFee',
      args: [f.treasury, Number(FEE_BPS)],
    })
    await send(f.deployer, {
      address: f.deployment.market,
      abi: jobMarketAbi,
      functionName: 'grantRole',
      args: [VERIFIER_ROLE, f.deployer.address],
    })
  })
  after(async () => {
    await f?.close()
  })

  it(`holds over ${RUNS} random sequences of ${OPS_PER_RUN} operations`, async (t) => {
    let executed = 0
    let succeeded = 0
    const errorsSeen = new Map<string, number>()
    const result = await fc.check(
      fc.asyncProperty(fc.array(opArb, { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }), async (ops) => {
        const snap = await f.snapshot()
        try {
          const run = await runSequence(ops)
          executed += run.executed
          succeeded += run.succeeded
          for (const [name, n] of run.errors) errorsSeen.set(name, (errorsSeen.get(name) ?? 0) + n)
        } finally {
          await f.revert(snap)
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
    // A 1,000-operation counterexample is unreadable; the seed and path replay it exactly.
    if (result.failed) {
      throw new Error(
        `invariant broken (replay with seed ${result.seed}, path "${result.counterexamplePath}"): ${String(result.errorInstance)}`,
        { cause: result.errorInstance },
      )
    }
    t.diagnostic(`${executed} operations executed, ${succeeded} succeeded`)
    t.diagnostic(`reverts: ${[...errorsSeen].map(([k, v]) => `${k}=${v}`).join(' ')}`)
    assert.ok(executed >= OPS_PER_RUN * RUNS, 'every drawn operation ran')
    assert.ok(succeeded > executed / 4, 'the sequences reach deep states, not just reverts')
  })

  async function runSequence(ops: Op[]) {
    const market = f.deployment.market
    const registry = f.deployment.registry
    const holders: Address[] = [...f.holders, market, registry]
    const balances = new Map<Address, bigint>()
    for (const h of holders) balances.set(h, await f.deployer.balanceOf(h))
    const stakes = new Map<Address, StakeAccount>()
    for (const p of providers) stakes.set(p.address, await p.accountOf(p.address))
    const jobsById: ModelJob[] = []
    const errors = new Map<string, number>()
    let succeeded = 0
    const add = (who: Address, delta: bigint) => balances.set(who, (balances.get(who) ?? 0n) + delta)
    const stakeOf = (p: number) => stakes.get(providers[p]!.address)!

    const pick = (op: { job: number; strict: boolean; kind: string }) => {
      const wanted = WANTS[op.kind] ?? []
      const pool = op.strict ? jobsById.filter((j) => wanted.includes(j.status)) : jobsById
      const from = pool.length > 0 ? pool : jobsById
      return from.length === 0 ? undefined : from[op.job % from.length]
    }
    const collateralFor = (price: bigint, maxFuel: bigint) => {
      const proportional = (price * maxFuel * COLLATERAL_BPS) / 10_000n
      return proportional > MIN_COLLATERAL ? proportional : MIN_COLLATERAL
    }
    const slash = (job: ModelJob) => {
      // the job's collateral is locked, and slashing takes locked stake first: all of it goes
      const s = stakeOf(job.provider)
      s.locked -= job.collateral
      s.staked -= job.collateral
      add(registry, -job.collateral)
      return job.collateral
    }
    const bidFor = async (job: ModelJob, provider: number, priceBps: bigint) => {
      const pricePerFuel = (job.maxPrice * priceBps) / 10_000n || 1n
      const expiry = (await f.now()) + 120n
      return {
        bid: await providers[provider]!.signBid({ jobId: job.id, pricePerFuel, expiry }),
        pricePerFuel,
      }
    }

    /** Runs one op; on success applies the model transition. Returns the touched job. */
    const apply = async (op: Op): Promise<ModelJob | undefined> => {
      switch (op.kind) {
        case 'create': {
          const who = requesters[op.who]!
          const now = await f.now()
          const params = {
            specHash: bytes32(`spec-${jobsById.length}`),
            maxPricePerFuel: op.price,
            maxFuel: op.fuel,
            bidDeadline: now + BigInt(op.windows[0]) / 2n,
            awardDeadline: now + BigInt(op.windows[0]),
            commitWindow: BigInt(op.windows[1]),
            revealWindow: BigInt(op.windows[2]),
          }
          // one requester funds by permit, the other by allowance: both paths under test
          const created = op.who === 0 ? await who.createJob(params) : await who.createJobWithPermit(params)
          const escrow = op.price * op.fuel
          add(who.address, -escrow)
          add(market, escrow)
          const job: ModelJob = {
            id: created.jobId,
            requester: op.who,
            escrow,
            maxPrice: op.price,
            maxFuel: op.fuel,
            status: 'Open',
            provider: -1,
            price: 0n,
            collateral: 0n,
            fuel: 0n,
            salt: bytes32(''),
            resultHash: bytes32(''),
          }
          jobsById.push(job)
          return job
        }
        case 'award':
        case 'reaward': {
          const job = pick(op)
          if (!job) return undefined
          const { bid, pricePerFuel } = await bidFor(job, op.provider, op.priceBps)
          const requester = requesters[job.requester]!
          if (op.kind === 'award') await requester.award(bid)
          else {
            await requester.reaward(bid)
            // the old provider's collateral goes registry -> market -> requester
            add(requester.address, slash(job))
          }
          job.status = 'Awarded'
          job.provider = op.provider
          job.price = pricePerFuel
          job.collateral = collateralFor(pricePerFuel, job.maxFuel)
          stakeOf(op.provider).locked += job.collateral
          return job
        }
        case 'commit': {
          const job = pick(op)
          if (!job) return undefined
          const provider = providers[Math.max(job.provider, 0)]!
          const fuel = (job.maxFuel * op.fuelBps) / 10_000n
          const salt = bytes32(`salt-${job.id}-${fuel}`)
          const resultHash = bytes32(`result-${job.id}`)
          await provider.commitResult(
            job.id,
            resultCommitment({ resultHash, fuelUsed: fuel, salt, provider: provider.address }),
          )
          Object.assign(job, { status: 'Committed', fuel, salt, resultHash })
          return job
        }
        case 'reveal': {
          const job = pick(op)
          if (!job) return undefined
          const provider = providers[Math.max(job.provider, 0)]!
          await provider.revealResult({
            jobId: job.id,
            resultHash: job.resultHash,
            fuelUsed: job.fuel,
            salt: job.salt,
          })
          job.status = 'Revealed'
          return job
        }
        case 'finalize':
        case 'settle': {
          const job = pick(op)
          if (!job) return undefined
          const requester = requesters[job.requester]!
          const provider = providers[Math.max(job.provider, 0)]!
          const before = await f.deployer.balanceOf(provider.address)
          let fuel = job.fuel
          let compensation = 0n
          if (op.kind === 'finalize') {
            await (op.byRequester ? requester : f.deployer).finalize(job.id)
            stakeOf(job.provider).locked -= job.collateral
          } else if (op.kind === 'settle') {
            fuel = (job.maxFuel * op.fuelBps) / 10_000n
            await f.deployer.settleByVerifier({
              jobId: job.id,
              fuelToPay: fuel,
              providerAtFault: op.fault,
              reason: bytes32('FUZZ'),
              evidence: '0x',
            })
            if (op.fault) compensation = slash(job)
            else stakeOf(job.provider).locked -= job.collateral
          }
          const paid = fuel * job.price
          const fee = (paid * FEE_BPS) / 10_000n
          add(provider.address, paid - fee)
          add(f.treasury, fee)
          add(requester.address, job.escrow - paid)
          // A verifier's slash goes to the verifier (here the deployer), which shares it out.
          add(f.deployer.address, compensation)
          add(market, -job.escrow)
          job.status = 'Finalized'
          const earned = (await f.deployer.balanceOf(provider.address)) - before
          assert.ok(earned <= job.maxFuel * job.price, 'provider paid more than maxFuel x price')
          return job
        }
        case 'cancel':
        case 'reclaim': {
          const job = pick(op)
          if (!job) return undefined
          const requester = requesters[job.requester]!
          const before = await f.deployer.balanceOf(requester.address)
          if (op.kind === 'cancel') await (op.byRequester ? requester : f.deployer).cancelJob(job.id)
          else await f.deployer.reclaimExpired(job.id)
          const compensation = job.status === 'Open' ? 0n : slash(job)
          add(requester.address, job.escrow + compensation)
          add(market, -job.escrow)
          job.status = op.kind === 'cancel' ? 'Cancelled' : 'Expired'
          const got = (await f.deployer.balanceOf(requester.address)) - before
          assert.ok(got >= job.escrow, 'a refunded requester must get the whole escrow back')
          return job
        }
        case 'advance':
          await f.advance(op.seconds)
          return undefined
        case 'topUp': {
          const p = providers[op.provider]!
          await p.stake(op.amount)
          add(p.address, -op.amount)
          add(registry, op.amount)
          stakeOf(op.provider).staked += op.amount
          return undefined
        }
        case 'unbond': {
          await providers[op.provider]!.requestUnbond(op.amount)
          const s = stakeOf(op.provider)
          s.staked -= op.amount
          s.unbonding += op.amount
          return undefined
        }
        case 'cancelUnbond': {
          await providers[op.provider]!.cancelUnbonding()
          const s = stakeOf(op.provider)
          s.staked += s.unbonding
          s.unbonding = 0n
          return undefined
        }
        case 'withdraw': {
          const p = providers[op.provider]!
          await p.withdraw()
          const s = stakeOf(op.provider)
          add(p.address, s.unbonding)
          add(registry, -s.unbonding)
          s.unbonding = 0n
          return undefined
        }
      }
    }

    const check = async (touched: ModelJob | undefined) => {
      const actual = await Promise.all(holders.map((h) => f.deployer.balanceOf(h)))
      holders.forEach((h, i) => {
        assert.equal(actual[i], balances.get(h), `balance of ${h}`)
      })
      assert.equal(
        actual.reduce((a, b) => a + b, 0n),
        await f.deployer.totalSupply(),
        'supply == sum of balances',
      )
      const escrowed = jobsById.filter((j) => ACTIVE.includes(j.status)).reduce((a, j) => a + j.escrow, 0n)
      assert.equal(balances.get(market), escrowed, 'market holds exactly the open escrow')
      let staked = 0n
      for (const [i, p] of providers.entries()) {
        const account = await p.accountOf(p.address)
        const model = stakeOf(i)
        assert.equal(account.staked, model.staked, `staked of provider ${i}`)
        assert.equal(account.unbonding, model.unbonding, `unbonding of provider ${i}`)
        const collateral = jobsById
          .filter((j) => j.provider === i && ['Awarded', 'Committed', 'Revealed'].includes(j.status))
          .reduce((a, j) => a + j.collateral, 0n)
        assert.equal(account.locked, collateral, `locked of provider ${i} == collateral of its running jobs`)
        staked += account.staked + account.unbonding
      }
      assert.equal(balances.get(registry), staked, 'registry holds exactly the stakes')
      if (touched) assert.equal((await f.deployer.getJob(touched.id)).status, touched.status)
    }

    for (const op of ops) {
      try {
        const touched = await apply(op)
        succeeded++
        await check(touched)
      } catch (err) {
        if (!(err instanceof ChainError)) throw err
        const name = err.errorName
        assert.ok(
          name !== undefined && name !== 'Panic' && name !== 'Error',
          `unexpected failure: ${err.message}`,
        )
        errors.set(name, (errors.get(name) ?? 0) + 1)
        await check(undefined)
      }
    }

    // Drain: after every deadline, everything can be settled by someone, and nothing stays locked.
    await f.advance(24 * 3600)
    for (const job of jobsById) {
      if (job.status === 'Revealed') await apply({ kind: 'finalize', byRequester: false, ...only(job) })
      else if (ACTIVE.includes(job.status)) await apply({ kind: 'reclaim', ...only(job) })
    }
    await check(undefined)
    assert.equal(await f.deployer.balanceOf(market), 0n, 'no funds left in the market')
    for (const p of providers) assert.equal(await p.lockedOf(p.address), 0n, 'no collateral left locked')
    for (const job of jobsById) assert.ok(!ACTIVE.includes(job.status), `job ${job.id} ended ${job.status}`)
    return { executed: ops.length, succeeded, errors }

    /** Makes `pick` return exactly `job` for the drain. */
    function only(job: ModelJob) {
      const index = jobsById.indexOf(job)
      return { job: index, strict: false }
    }
  }
})
