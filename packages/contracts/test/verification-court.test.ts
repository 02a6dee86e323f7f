import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { type BazaarContracts, resultCommitment } from '@bazaar/chain'
import { jobMarketAbi, verificationCourtAbi } from '@bazaar/contracts'
import {
  type Address,
  decodeEventLog,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type TransactionReceipt,
  toHex,
} from 'viem'
import {
  assertConserved,
  assertRevert,
  bytes32,
  CHALLENGE_WINDOW,
  COMMIT_WINDOW,
  FAUCET,
  type Fixture,
  jobs,
  MAX_FUEL,
  MAX_PRICE,
  MIN_COLLATERAL,
  MIN_STAKE,
  REVEAL_WINDOW,
  send,
  setupFixture,
} from './fixture.ts'

/** Court rules of the deployment (defaultCourtConfig of MIN_COLLATERAL). */
const BOND = MIN_COLLATERAL
const FEE = MIN_COLLATERAL / 10n
const PRICE = MAX_PRICE / 2n
const RIGHT = bytes32('right result')
const WRONG = bytes32('wrong result')

interface Answer {
  resultHash: Hex
  fuel: bigint
}

describe('VerificationCourt', () => {
  let f: Fixture
  let j: ReturnType<typeof jobs>
  let snap: Hex
  let everyone: BazaarContracts[]
  /** Pool members that are never parties: extra[0..2]. */
  let referees: BazaarContracts[]

  const court = () => ({ address: f.deployment.court, abi: verificationCourtAbi }) as const
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    f.deployer.clients.publicClient.readContract({ ...court(), functionName, args } as never) as Promise<T>
  const call = (who: BazaarContracts, functionName: string, args: readonly unknown[] = []) =>
    send(who, { ...court(), functionName, args } as never)
  const balance = (who: BazaarContracts | Address) =>
    f.deployer.balanceOf(typeof who === 'string' ? who : who.address)
  const facadeOf = (address: Address) => everyone.find((x) => x.address === address)!
  const events = (receipt: TransactionReceipt) =>
    receipt.logs.flatMap((log) => {
      try {
        return [decodeEventLog({ abi: verificationCourtAbi, ...log })]
      } catch {
        return []
      }
    })
  const conserved = () => assertConserved(f, [f.deployment.court])

  before(async () => {
    f = await setupFixture({ extraProviders: 4 })
    j = jobs(f)
    everyone = [f.requester, f.provider, f.provider2, f.stranger, f.verifier, ...f.extra]
    for (const who of everyone) await who.approve(f.deployment.court, FAUCET)
    referees = f.extra.slice(0, 3)
    for (const r of referees) await call(r, 'joinPool')
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

  /** Awards a job to `provider` and has it commit and reveal `answer`. */
  async function revealedJob(provider: BazaarContracts, answer: Answer, jobId?: bigint) {
    const id = jobId ?? (await j.awarded(provider, PRICE))
    await reveal(provider, id, answer)
    return id
  }
  async function reveal(provider: BazaarContracts, jobId: bigint, answer: Answer) {
    await (await commit(provider, jobId, answer))()
  }
  /** Commits `answer`; returns the reveal. */
  async function commit(provider: BazaarContracts, jobId: bigint, answer: Answer) {
    const salt = keccak256(toHex(`salt ${jobId} ${provider.address}`))
    await provider.commitResult(
      jobId,
      resultCommitment({
        resultHash: answer.resultHash,
        fuelUsed: answer.fuel,
        salt,
        provider: provider.address,
      }),
    )
    return () => provider.revealResult({ jobId, resultHash: answer.resultHash, fuelUsed: answer.fuel, salt })
  }
  /** Replicas commit (all of them: the court bars reveals until then), then reveal in order. */
  async function revealReplicas(replicas: Array<[BazaarContracts, bigint, Answer]>) {
    const reveals = []
    for (const [provider, jobId, answer] of replicas) reveals.push(await commit(provider, jobId, answer))
    for (const revealIt of reveals) await revealIt()
  }

  interface DisputeView {
    caseId: bigint
    audit: boolean
    resolved: boolean
    referees: readonly Address[]
    parties: readonly Address[]
    commitDeadline: bigint
    revealDeadline: bigint
  }
  interface CaseView {
    status: number
    disputeId: bigint
    auditor: Address
    jobIds: readonly bigint[]
    seedBlock: bigint
  }
  const dispute = (id: bigint) => read<DisputeView>('getDispute', [id])
  const getCase = (id: bigint) => read<CaseView>('getCase', [id])
  const SETTLED = 3

  /** Draws referees and has each answer (`undefined`: does not show up); resolves. */
  async function judge(disputeId: bigint, answerOf: (referee: Address) => Answer | undefined) {
    // An audit's check is drawn by drawAudit itself; other disputes need their draw.
    if ((await dispute(disputeId)).commitDeadline === 0n) await call(f.stranger, 'drawReferees', [disputeId])
    const d = await dispute(disputeId)
    for (const r of d.referees) {
      const answer = answerOf(r)
      if (!answer) continue
      const salt = keccak256(toHex(`referee ${r}`))
      await call(facadeOf(r), 'commitVerdict', [
        disputeId,
        resultCommitment({ resultHash: answer.resultHash, fuelUsed: answer.fuel, salt, provider: r }),
      ])
    }
    if (d.referees.some((r) => !answerOf(r))) await f.advance(COMMIT_WINDOW + 1n)
    for (const r of d.referees) {
      const answer = answerOf(r)
      if (!answer) continue
      await call(facadeOf(r), 'revealVerdict', [
        disputeId,
        answer.resultHash,
        answer.fuel,
        keccak256(toHex(`referee ${r}`)),
      ])
    }
    if (d.referees.some((r) => !answerOf(r))) await f.advance(REVEAL_WINDOW + 1n)
    const receipt = await call(f.stranger, 'resolveDispute', [disputeId])
    return { referees: d.referees, receipt }
  }

  describe('pool', () => {
    it('takes a bond from eligible providers and gives it back when they leave', async () => {
      assert.equal((await read<Address[]>('pool')).length, 3)
      const before = await balance(f.provider)
      await call(f.provider, 'joinPool')
      assert.equal(await balance(f.provider), before - BOND)
      assert.equal(
        (await read<{ bond: bigint; active: boolean }>('memberOf', [f.provider.address])).active,
        true,
      )
      await assertRevert(call(f.provider, 'joinPool'), 'Court__AlreadyMember')
      await call(f.provider, 'leavePool')
      assert.equal(await balance(f.provider), before)
      await assertRevert(call(f.provider, 'leavePool'), 'Court__NotMember')
      await assertRevert(call(f.stranger, 'joinPool'), 'Court__NotEligible')
      await conserved()
    })
  })

  describe('replicated', () => {
    it('pays every replica when all agree, and never lets them finalize on their own', async () => {
      const answer = { resultHash: RIGHT, fuel: 900n }
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      const opened = await call(f.requester, 'openReplicated', [[a, b]])
      const caseId = events(opened).find((e) => e.eventName === 'CaseOpened')!.args as { caseId: bigint }
      const revealA = await commit(f.provider, a, answer)
      const revealB = await commit(f.provider2, b, answer)
      await revealA()
      await assertRevert(call(f.stranger, 'settleCase', [caseId.caseId]), 'Court__NotReady')
      await revealB()
      await f.advance(CHALLENGE_WINDOW + 1n)
      await assertRevert(f.stranger.finalize(a), 'JobMarket__OnHold')
      const before = [await balance(f.provider), await balance(f.provider2)]
      await call(f.stranger, 'settleCase', [caseId.caseId])
      assert.equal(await balance(f.provider), before[0]! + 900n * PRICE)
      assert.equal(await balance(f.provider2), before[1]! + 900n * PRICE)
      assert.equal((await getCase(caseId.caseId)).status, SETTLED)
      assert.equal((await f.requester.reputationOf(f.provider2.address)).completed, 1n)
      await conserved()
    })

    it('slashes the replica the referees prove wrong and pays the right one and the referees', async () => {
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      await call(f.requester, 'openReplicated', [[a, b]])
      await revealReplicas([
        [f.provider, a, { resultHash: RIGHT, fuel: 900n }],
        [f.provider2, b, { resultHash: WRONG, fuel: 900n }],
      ])
      const settled = await call(f.stranger, 'settleCase', [1n])
      const opened = events(settled).find((e) => e.eventName === 'DisputeOpened')
      assert.ok(opened, 'a disagreement opens a dispute, never a plain vote')
      const disputeId = (opened.args as { disputeId: bigint }).disputeId
      assert.deepEqual([...(await dispute(disputeId)).parties], [f.provider.address, f.provider2.address])

      const requesterBefore = await balance(f.requester)
      const providerBefore = await balance(f.provider)
      const refereeBefore = await Promise.all(referees.map((r) => balance(r)))
      const { referees: drawn } = await judge(disputeId, () => ({ resultHash: RIGHT, fuel: 900n }))
      assert.equal(drawn.length, 3)
      assert.ok(
        !drawn.includes(f.provider.address) && !drawn.includes(f.provider2.address),
        'parties never judge',
      )
      // Right replica paid, wrong replica slashed its collateral, escrow of the wrong one refunded.
      assert.equal(await balance(f.provider), providerBefore + 900n * PRICE)
      assert.equal(await f.provider2.stakeOf(f.provider2.address), MIN_STAKE - MIN_COLLATERAL)
      assert.equal((await f.requester.reputationOf(f.provider2.address)).failed, 1n)
      for (const [i, r] of referees.entries()) assert.equal(await balance(r), refereeBefore[i]! + FEE)
      // Refunds: the rest of the right replica's escrow and all of the wrong one's, plus the
      // wrong provider's collateral less the referees' fees.
      const escrow = MAX_PRICE * MAX_FUEL
      assert.equal(
        await balance(f.requester),
        requesterBefore + (escrow - 900n * PRICE) + escrow + MIN_COLLATERAL - 3n * FEE,
      )
      assert.equal((await f.requester.getJob(b)).status, 'Finalized')
      await conserved()
    })

    it('has a lone surviving replica checked by referees; a no-show replica is slashed by expiry', async () => {
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      await call(f.requester, 'openReplicated', [[a, b]])
      const revealA = await commit(f.provider, a, { resultHash: RIGHT, fuel: 50n })
      await f.advance(COMMIT_WINDOW + 1n)
      // b missed its commit: a may reveal now, though b's expiry is not yet reclaimed.
      await revealA()
      await assertRevert(call(f.stranger, 'settleCase', [1n]), 'Court__NotReady')
      await f.stranger.reclaimExpired(b)
      const settled = await call(f.stranger, 'settleCase', [1n])
      const disputeId = (
        events(settled).find((e) => e.eventName === 'DisputeOpened')!.args as { disputeId: bigint }
      ).disputeId
      const before = await balance(f.provider)
      await judge(disputeId, () => ({ resultHash: RIGHT, fuel: 50n }))
      assert.equal(await balance(f.provider), before + 50n * PRICE)
      assert.equal(await f.provider2.stakeOf(f.provider2.address), MIN_STAKE - MIN_COLLATERAL)
      await conserved()
    })

    it('refuses a lazy copier: a commitment binds its provider', async () => {
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      await call(f.requester, 'openReplicated', [[a, b]])
      const salt = bytes32('shared salt')
      const commitment = resultCommitment({
        resultHash: RIGHT,
        fuelUsed: 9n,
        salt,
        provider: f.provider.address,
      })
      await f.provider.commitResult(a, commitment)
      await f.provider2.commitResult(b, commitment)
      await f.provider.revealResult({ jobId: a, resultHash: RIGHT, fuelUsed: 9n, salt })
      await assertRevert(
        f.provider2.revealResult({ jobId: b, resultHash: RIGHT, fuelUsed: 9n, salt }),
        'JobMarket__CommitmentMismatch',
      )
    })

    it('bars every reveal until every replica has committed, so no replica can copy a revealed result', async () => {
      const answer = { resultHash: RIGHT, fuel: 70n }
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      await call(f.requester, 'openReplicated', [[a, b]])
      const commitDeadlineB = (await f.requester.getJob(b)).deadline
      const revealA = await commit(f.provider, a, answer)
      // The honest replica committed first; the lazy one waits for something to copy: nothing.
      assert.equal(await f.provider.revealOpen(a), false)
      assert.equal(await read<boolean>('mayReveal', [a]), false)
      const [status, deadline] = await f.deployer.clients.publicClient.readContract({
        address: f.deployment.market,
        abi: jobMarketAbi,
        functionName: 'phaseOf',
        args: [b],
      })
      assert.deepEqual([status, deadline], [2, commitDeadlineB], 'b is Awarded, its commit deadline ahead')
      await assertRevert(revealA(), 'JobMarket__RevealBarred')
      assert.equal((await f.requester.getJob(a)).status, 'Committed')
      // Its reveal deadline waits with it: the last commit deadline plus the reveal window.
      assert.equal((await f.requester.getJob(a)).deadline, commitDeadlineB + REVEAL_WINDOW)
      // The lazy replica must commit before it sees a result, or miss its commit.
      await f.advance(COMMIT_WINDOW - 30n)
      const revealB = await commit(f.provider2, b, answer)
      assert.equal(await f.provider.revealOpen(a), true)
      // Past a's own reveal window counted from its commit, still inside the floor.
      await f.advance(REVEAL_WINDOW - 10n)
      await revealA()
      await revealB()
      await f.advance(CHALLENGE_WINDOW + 1n)
      await call(f.stranger, 'settleCase', [1n])
      assert.equal((await f.requester.getJob(a)).status, 'Finalized')
      await conserved()
    })

    it('opens reveals once a silent replica has missed its commit deadline', async () => {
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      await call(f.requester, 'openReplicated', [[a, b]])
      const revealA = await commit(f.provider, a, { resultHash: RIGHT, fuel: 5n })
      await assertRevert(revealA(), 'JobMarket__RevealBarred')
      await f.advance(COMMIT_WINDOW + 1n)
      assert.equal(await f.provider.revealOpen(a), true)
      await revealA()
      // Too late to commit now: the silent replica cannot join after the fact.
      await assertRevert(f.provider2.commitResult(b, bytes32('late commitment')), 'JobMarket__DeadlinePassed')
    })

    it('settles nobody and slashes nobody when no referee can be drawn', async () => {
      for (const r of referees) await call(r, 'leavePool')
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      await call(f.requester, 'openReplicated', [[a, b]])
      await revealReplicas([
        [f.provider, a, { resultHash: RIGHT, fuel: 10n }],
        [f.provider2, b, { resultHash: WRONG, fuel: 10n }],
      ])
      await call(f.stranger, 'settleCase', [1n])
      const requesterBefore = await balance(f.requester)
      const { referees: drawn, receipt } = await judge(1n, () => undefined)
      assert.equal(drawn.length, 0)
      const resolved = events(receipt).find((e) => e.eventName === 'DisputeResolved')!.args as {
        determined: boolean
      }
      assert.equal(resolved.determined, false)
      const escrow = MAX_PRICE * (await f.requester.getJob(a)).maxFuel
      assert.equal(await balance(f.requester), requesterBefore + 2n * escrow)
      assert.equal(await f.provider2.stakeOf(f.provider2.address), MIN_STAKE)
      await conserved()
    })

    it('rejects malformed groups', async () => {
      const a = await j.awarded(f.provider, PRICE)
      const b = await j.awarded(f.provider2, PRICE)
      const c = await j.awarded(f.provider, PRICE)
      await assertRevert(call(f.requester, 'openReplicated', [[a]]), 'Court__InvalidReplicas')
      await assertRevert(call(f.stranger, 'openReplicated', [[a, b]]), 'Court__NotRequester')
      await assertRevert(call(f.requester, 'openReplicated', [[a, c]]), 'Court__DuplicateProvider')
      const { jobId: other } = await j.open({ specHash: bytes32('other spec') })
      await f.requester.award(await j.bid(f.provider2, other))
      await assertRevert(call(f.requester, 'openReplicated', [[a, other]]), 'Court__ReplicasDiffer')
      const { jobId: open } = await j.open()
      await assertRevert(call(f.requester, 'openReplicated', [[a, open]]), 'Court__InvalidJobStatus')
      // Linked before anyone commits: a replica that already committed cannot join.
      const committed = await j.awarded(f.provider2, PRICE)
      await commit(f.provider2, committed, { resultHash: RIGHT, fuel: 1n })
      await assertRevert(call(f.requester, 'openReplicated', [[c, committed]]), 'Court__InvalidJobStatus')
      await call(f.requester, 'openReplicated', [[a, b]])
      await assertRevert(call(f.requester, 'openReplicated', [[a, c]]), 'Court__AlreadyInCase')
      await assertRevert(call(f.stranger, 'settleCase', [99n]), 'Court__CaseNotFound')
    })
  })

  describe('audit', () => {
    /** The roll drawAudit computes from the seed block's hash. */
    async function expectedRoll(caseId: bigint, jobId: bigint) {
      const { seedBlock } = await getCase(caseId)
      const block = await f.deployer.clients.publicClient.getBlock({ blockNumber: seedBlock })
      const { commitment } = await f.deployer.clients.publicClient.readContract({
        address: f.deployment.market,
        abi: jobMarketAbi,
        functionName: 'getJob',
        args: [jobId],
      })
      const encoded = encodeAbiParameters(
        [{ type: 'uint256' }, { type: 'uint256' }, { type: 'bytes32' }],
        [BigInt(block.hash), caseId, commitment],
      )
      return BigInt(keccak256(encoded)) % 10_000n
    }

    it('draws after the reveal from a block hash nobody knew, and refunds the fee when not selected', async () => {
      for (let round = 0; round < 4; round++) {
        const jobId = await j.awarded(f.provider, PRICE)
        const requesterBefore = await balance(f.requester)
        const opened = await call(f.requester, 'openAudit', [jobId, 5_000])
        const caseId = (events(opened).find((e) => e.eventName === 'CaseOpened')!.args as { caseId: bigint })
          .caseId
        assert.equal(await balance(f.requester), requesterBefore - FEE)
        await assertRevert(call(f.requester, 'drawAudit', [caseId]), 'Court__NotReady')
        await revealedJob(f.provider, { resultHash: RIGHT, fuel: 77n }, jobId)
        await assertRevert(call(f.stranger, 'drawAudit', [caseId]), 'Court__GraceNotOver')
        await call(f.requester, 'drawAudit', [caseId]) // arms on this block
        const roll = await expectedRoll(caseId, jobId)
        const drawn = await call(f.requester, 'drawAudit', [caseId])
        const audit = events(drawn).find((e) => e.eventName === 'AuditDrawn')!.args as {
          selected: boolean
          auditor: Address
        }
        assert.equal(audit.selected, roll < 5_000n, `roll ${roll}`)
        if (!audit.selected) {
          assert.equal((await f.requester.getJob(jobId)).status, 'Finalized')
          // Paid for 77 fuel, the rest of the escrow and the audit fee back.
          assert.equal(await balance(f.requester), requesterBefore + MAX_PRICE * MAX_FUEL - 77n * PRICE)
        } else {
          assert.ok(referees.some((r) => r.address === audit.auditor))
          await judge((await getCase(caseId)).disputeId, () => ({ resultHash: RIGHT, fuel: 77n }))
        }
        assert.equal((await getCase(caseId)).status, SETTLED)
      }
      await conserved()
    })

    it('pays the auditor whatever it finds, and a mismatch becomes a dispute the provider loses', async () => {
      const jobId = await j.awarded(f.provider, PRICE)
      await call(f.requester, 'openAudit', [jobId, 10_000])
      await revealedJob(f.provider, { resultHash: WRONG, fuel: 77n }, jobId)
      await call(f.requester, 'drawAudit', [1n])
      const drawn = await call(f.requester, 'drawAudit', [1n])
      const { auditor } = events(drawn).find((e) => e.eventName === 'AuditDrawn')!.args as {
        auditor: Address
      }
      const auditorBefore = await balance(auditor)
      const first = await getCase(1n)
      await judge(first.disputeId, () => ({ resultHash: RIGHT, fuel: 77n }))
      assert.equal(await balance(auditor), auditorBefore + FEE, 'the auditor is paid for its work')
      const followUp = await getCase(1n)
      assert.notEqual(followUp.disputeId, first.disputeId)
      assert.ok((await dispute(followUp.disputeId)).parties.includes(auditor))
      const requesterBefore = await balance(f.requester)
      const { referees: judges } = await judge(followUp.disputeId, () => ({ resultHash: RIGHT, fuel: 77n }))
      assert.ok(!judges.includes(auditor), 'the auditor does not judge its own finding')
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE - MIN_COLLATERAL)
      const escrow = MAX_PRICE * (await f.requester.getJob(jobId)).maxFuel
      const fees = BigInt(judges.length) * FEE
      assert.equal(await balance(f.requester), requesterBefore + escrow + MIN_COLLATERAL - fees)
      assert.equal((await getCase(1n)).status, SETTLED)
      await conserved()
    })

    it('lets the result stand and refunds the fee when the auditor does not show up; penalizes it', async () => {
      const jobId = await j.awarded(f.provider, PRICE)
      await call(f.requester, 'openAudit', [jobId, 10_000])
      await revealedJob(f.provider, { resultHash: RIGHT, fuel: 5n }, jobId)
      await call(f.requester, 'drawAudit', [1n])
      await call(f.requester, 'drawAudit', [1n])
      const { auditor } = await getCase(1n)
      const requesterBefore = await balance(f.requester)
      const auditorBefore = await balance(auditor)
      const { receipt } = await judge((await getCase(1n)).disputeId, () => undefined)
      const penalty = BOND / 2n
      assert.ok(events(receipt).some((e) => e.eventName === 'MemberPenalized'))
      assert.equal(
        await balance(f.requester),
        requesterBefore + (MAX_PRICE * MAX_FUEL - 5n * PRICE) + FEE + penalty,
      )
      // Removed from the pool with the rest of its bond.
      assert.equal(await balance(auditor), auditorBefore + BOND - penalty)
      assert.equal((await read<{ active: boolean }>('memberOf', [auditor])).active, false)
      await conserved()
    })

    it('rejects bad audit requests', async () => {
      const jobId = await j.awarded(f.provider, PRICE)
      await assertRevert(call(f.requester, 'openAudit', [jobId, 0]), 'Court__InvalidAuditBps')
      await assertRevert(call(f.requester, 'openAudit', [jobId, 10_001]), 'Court__InvalidAuditBps')
      await call(f.requester, 'openAudit', [jobId, 10_000])
      await revealedJob(f.provider, { resultHash: RIGHT, fuel: 5n }, jobId)
      await call(f.requester, 'drawAudit', [1n]) // arms
      await call(f.requester, 'drawAudit', [1n]) // selected (p = 100%): now disputed
      await assertRevert(call(f.requester, 'drawAudit', [1n]), 'Court__WrongCase')
      await assertRevert(call(f.requester, 'settleCase', [1n]), 'Court__WrongCase')
    })
  })

  describe('challenge (optimistic)', () => {
    it('slashes a wrong result and rewards the challenger', async () => {
      const challenger = referees[0]!
      const jobId = await revealedJob(f.provider, { resultHash: WRONG, fuel: 40n })
      const challengerBefore = await balance(challenger)
      const opened = await call(challenger, 'challenge', [jobId, RIGHT, 40n])
      const { caseId } = events(opened).find((e) => e.eventName === 'Challenged')!.args as { caseId: bigint }
      assert.equal(await balance(challenger), challengerBefore - BOND)
      await assertRevert(f.requester.finalize(jobId), 'JobMarket__OnHold')
      await call(f.extra[3]!, 'joinPool') // a third referee besides the two other pool members
      const { referees: judges } = await judge((await getCase(caseId)).disputeId, () => ({
        resultHash: RIGHT,
        fuel: 40n,
      }))
      assert.ok(!judges.includes(challenger.address))
      const pot = MIN_COLLATERAL
      const reward = pot / 2n
      assert.equal(await balance(challenger), challengerBefore + reward)
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE - MIN_COLLATERAL)
      await conserved()
    })

    it('forfeits the bond of a challenge against a right result to the referees and the provider', async () => {
      const challenger = referees[0]!
      const jobId = await revealedJob(f.provider, { resultHash: RIGHT, fuel: 40n })
      await call(challenger, 'challenge', [jobId, WRONG, 40n])
      await call(f.extra[3]!, 'joinPool')
      const providerBefore = await balance(f.provider)
      const { referees: judges } = await judge(1n, () => ({ resultHash: RIGHT, fuel: 40n }))
      const fees = BigInt(judges.length) * FEE
      assert.equal(await balance(f.provider), providerBefore + 40n * PRICE + BOND - fees)
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE)
      await conserved()
    })

    it('refuses challenges that cannot be right or come too late', async () => {
      const jobId = await revealedJob(f.provider, { resultHash: RIGHT, fuel: 40n })
      await assertRevert(call(f.stranger, 'challenge', [jobId, WRONG, 40n]), 'Court__NotEligible')
      await assertRevert(call(referees[0]!, 'challenge', [jobId, RIGHT, 40n]), 'Court__SameResult')
      const { jobId: open } = await j.open()
      await assertRevert(call(referees[0]!, 'challenge', [open, WRONG, 1n]), 'Court__InvalidJobStatus')
      await f.advance(CHALLENGE_WINDOW + 1n)
      await assertRevert(call(referees[0]!, 'challenge', [jobId, WRONG, 40n]), 'JobMarket__DeadlinePassed')
    })
  })

  describe('conflicts of interest', () => {
    it('never draws the requester on its own case, and refuses its challenge of its own job', async () => {
      await f.requester.approve(f.deployment.registry, MIN_STAKE)
      await f.requester.stake(MIN_STAKE)
      await call(f.requester, 'joinPool')
      const jobId = await revealedJob(f.provider, { resultHash: RIGHT, fuel: 40n })
      await assertRevert(call(f.requester, 'challenge', [jobId, WRONG, 40n]), 'Court__NotEligible')
      await call(referees[0]!, 'challenge', [jobId, WRONG, 40n])
      await call(f.stranger, 'drawReferees', [1n])
      const { referees: drawn } = await dispute(1n)
      assert.equal(drawn.length, 2, 'the two other pool members')
      assert.ok(!drawn.includes(f.requester.address), 'the requester gains from slashes: it never judges')
    })
  })

  describe('referee duty', () => {
    it('enforces the commit-reveal order and windows', async () => {
      const jobId = await revealedJob(f.provider, { resultHash: RIGHT, fuel: 40n })
      await call(f.extra[3]!, 'joinPool')
      await call(referees[0]!, 'challenge', [jobId, WRONG, 40n])
      await assertRevert(call(f.stranger, 'commitVerdict', [1n, bytes32('x')]), 'Court__NotDrawn')
      await assertRevert(call(f.stranger, 'drawReferees', [9n]), 'Court__DisputeNotFound')
      await call(f.stranger, 'drawReferees', [1n])
      await assertRevert(call(f.stranger, 'drawReferees', [1n]), 'Court__AlreadyDrawn')
      const d = await dispute(1n)
      const r = facadeOf(d.referees[0]!)
      await assertRevert(call(f.stranger, 'commitVerdict', [1n, bytes32('x')]), 'Court__NotReferee')
      await assertRevert(call(r, 'commitVerdict', [1n, `0x${'0'.repeat(64)}`]), 'Court__EmptyCommitment')
      const salt = bytes32('s')
      await call(r, 'commitVerdict', [
        1n,
        resultCommitment({ resultHash: RIGHT, fuelUsed: 40n, salt, provider: r.address }),
      ])
      await assertRevert(call(r, 'commitVerdict', [1n, bytes32('y')]), 'Court__AlreadyCommitted')
      await assertRevert(call(r, 'revealVerdict', [1n, RIGHT, 40n, salt]), 'Court__TooEarly')
      await assertRevert(call(f.stranger, 'resolveDispute', [1n]), 'Court__TooEarly')
      await f.advance(COMMIT_WINDOW + 1n)
      await assertRevert(call(r, 'revealVerdict', [1n, WRONG, 40n, salt]), 'Court__CommitmentMismatch')
      await call(r, 'revealVerdict', [1n, RIGHT, 40n, salt])
      await f.advance(REVEAL_WINDOW + 1n)
      await assertRevert(
        call(facadeOf(d.referees[1]!), 'commitVerdict', [1n, bytes32('late')]),
        'Court__OutsideWindow',
      )
      await call(f.stranger, 'resolveDispute', [1n])
      await assertRevert(call(f.stranger, 'resolveDispute', [1n]), 'Court__AlreadyResolved')
      // One of three referees answered: no strict majority, so nobody is paid and nobody slashed.
      assert.equal(await f.provider.stakeOf(f.provider.address), MIN_STAKE)
      await conserved()
    })

    it('keeps a drawn referee in the pool until the dispute ends', async () => {
      const jobId = await revealedJob(f.provider, { resultHash: RIGHT, fuel: 40n })
      await call(referees[0]!, 'challenge', [jobId, WRONG, 40n])
      await call(f.stranger, 'drawReferees', [1n])
      const [first] = (await dispute(1n)).referees
      await assertRevert(call(facadeOf(first!), 'leavePool'), 'Court__OnDuty')
    })
  })

  describe('admin', () => {
    it('lets only the admin change the rules, within bounds', async () => {
      const rules = await read<Record<string, unknown>>('config')
      await assertRevert(call(f.stranger, 'setConfig', [rules]), 'AccessControlUnauthorizedAccount')
      await assertRevert(call(f.deployer, 'setConfig', [{ ...rules, referees: 0 }]), 'Court__InvalidConfig')
      await call(f.deployer, 'setConfig', [{ ...rules, refereeFee: 1n }])
      assert.equal((await read<{ refereeFee: bigint }>('config')).refereeFee, 1n)
      assert.equal(await read<bigint>('caseOfJob', [1n]), 0n)
      assert.equal(await read<bigint>('owed', [f.stranger.address]), 0n)
      await assertRevert(call(f.stranger, 'claim'), 'Court__NothingOwed')
      assert.deepEqual(
        (await read<{ resultHash: Hex }>('voteOf', [1n, f.stranger.address])).resultHash,
        `0x${'0'.repeat(64)}`,
      )
    })

    it('exposes its bounds, slash reasons and counters', async () => {
      assert.equal(await read<bigint>('MAX_POOL'), 256n)
      assert.equal(await read<bigint>('MAX_REPLICAS'), 9n)
      assert.equal(await read<Hex>('REASON_WRONG_RESULT'), bytes32Text('WRONG_RESULT'))
      assert.equal(await read<Hex>('REASON_VERIFIED'), bytes32Text('VERIFIED'))
      assert.equal(await read<Hex>('REASON_UNDETERMINED'), bytes32Text('UNDETERMINED'))
      assert.equal(await read<bigint>('caseCount'), 0n)
      assert.equal(await read<bigint>('disputeCount'), 0n)
      const jobId = await revealedJob(f.provider, { resultHash: RIGHT, fuel: 40n })
      await call(referees[0]!, 'challenge', [jobId, WRONG, 40n])
      assert.equal(await read<bigint>('caseCount'), 1n)
      assert.equal(await read<bigint>('disputeCount'), 1n)
    })
  })
})

/** A Solidity `bytes32("...")` literal: the text's bytes, right-padded with zeros. */
function bytes32Text(text: string): Hex {
  return toHex(text, { size: 32 })
}
