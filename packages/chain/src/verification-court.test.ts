import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { keccak256, parseEther, toHex } from 'viem'
import { type BazaarContracts, createBazaarContracts } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'
import { createChainClients } from './clients.ts'
import { type Deployment, deployBazaar } from './deploy.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'
import { resultCommitment } from './result-commitment.ts'
import { createVerificationCourt, type VerificationCourt } from './verification-court.ts'

describe('VerificationCourt client', () => {
  let chain: EmbeddedChain
  let deployment: Deployment
  let facades: BazaarContracts[]
  let courts: VerificationCourt[]
  const STAKE = parseEther('10')

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 7 })
    facades = []
    for (const [i, account] of chain.accounts.entries()) {
      const clients = await createChainClients({ provider: chain.provider, privateKey: account.privateKey })
      if (i === 0) {
        deployment = await deployBazaar(clients, {
          minStake: STAKE,
          minCollateral: parseEther('1'),
          challengeWindow: 60,
        })
      }
      facades.push(createBazaarContracts({ clients, deployment }))
    }
    courts = facades.map((f) => createVerificationCourt(f, deployment.court))
    const [owner, ...users] = facades
    for (const [i, user] of users.entries()) {
      await owner!.mint(user.address, parseEther('1000'))
      await user.approve(deployment.market, parseEther('1000'))
      await courts[i + 1]!.approve(parseEther('1000'))
      if (i === 0) continue // facades[1] is the requester
      await user.approve(deployment.registry, STAKE)
      await user.stake(STAKE)
    }
  })
  after(async () => {
    await chain?.close()
  })

  it('runs a replicated job through a dispute and names the court errors', async () => {
    const [, requester, p1, p2, ...refs] = facades
    const now = await chain.latestTimestamp()
    const terms = {
      specHash: keccak256(toHex('spec')),
      maxPricePerFuel: 10n,
      maxFuel: 1_000n,
      bidDeadline: now + 30n,
      awardDeadline: now + 60n,
      commitWindow: 60n,
      revealWindow: 60n,
    }
    const jobIds: bigint[] = []
    for (const provider of [p1!, p2!]) {
      const { jobId } = await requester!.createJob(terms)
      await requester!.award(await provider.signBid({ jobId, pricePerFuel: 5n, expiry: now + 300n }))
      jobIds.push(jobId)
    }
    for (const i of [4, 5, 6]) await courts[i]!.joinPool()
    const { caseId } = await courts[1]!.openReplicated(jobIds)
    assert.equal(await courts[0]!.caseOfJob(jobIds[0]!), caseId)
    const answer = (i: number) => ({
      resultHash: keccak256(toHex(`result ${i}`)),
      salt: keccak256(toHex(`salt ${i}`)),
    })
    for (const [i, provider] of [p1!, p2!].entries()) {
      const { resultHash, salt } = answer(i)
      await provider.commitResult(
        jobIds[i]!,
        resultCommitment({ resultHash, fuelUsed: 100n, salt, provider: provider.address }),
      )
      // The court's reveal barrier: no replica reveals before every replica has committed.
      assert.equal(await provider.revealOpen(jobIds[i]!), i === 1)
    }
    for (const [i, provider] of [p1!, p2!].entries()) {
      await provider.revealResult({ jobId: jobIds[i]!, fuelUsed: 100n, ...answer(i) })
    }
    const { disputeId } = await courts[0]!.settleCase(caseId)
    assert.ok(disputeId)
    assert.equal((await courts[0]!.getCase(caseId)).status, 'Disputed')
    const { referees } = await courts[0]!.drawReferees(disputeId)
    assert.equal(referees.length, 3)
    for (const r of refs) {
      const duties = await courts[0]!.dutiesSince(r.address, 0n)
      assert.deepEqual(
        duties.map((d) => d.disputeId),
        [disputeId],
      )
    }
    assert.deepEqual(await courts[0]!.dutiesSince(p1!.address, 0n), [], 'a party is never drawn')
    const truth = keccak256(toHex('result 0'))
    for (const r of referees) {
      const court = courts[facades.findIndex((f) => f.address === r)]!
      const salt = keccak256(toHex(r))
      await court.commitVerdict(
        disputeId,
        resultCommitment({ resultHash: truth, fuelUsed: 100n, salt, provider: r }),
      )
    }
    for (const r of referees) {
      const court = courts[facades.findIndex((f) => f.address === r)]!
      await court.revealVerdict({ disputeId, resultHash: truth, fuel: 100n, salt: keccak256(toHex(r)) })
    }
    const resolved = await courts[0]!.resolveDispute(disputeId)
    assert.deepEqual([resolved.determined, resolved.resultHash, resolved.fuel], [true, truth, 100n])
    assert.equal((await courts[0]!.getCase(caseId)).status, 'Settled')
    assert.equal((await p2!.reputationOf(p2!.address)).failed, 1n)
    const right = await courts[0]!.settlementOf(jobIds[0]!)
    const wrong = await courts[0]!.settlementOf(jobIds[1]!)
    assert.deepEqual([right?.paid, right?.slashed], [100n * 5n, 0n])
    assert.deepEqual([wrong?.paid, wrong?.refunded, wrong?.slashed], [0n, 10n * 1_000n, parseEther('1')])

    await assert.rejects(courts[0]!.resolveDispute(disputeId), (err: unknown) => {
      assert.ok(err instanceof ChainError)
      assert.equal(err.errorName, 'Court__AlreadyResolved')
      return true
    })
    const member = await courts[0]!.memberOf(refs[0]!.address)
    assert.deepEqual([member.active, member.duties], [true, 0])
    assert.equal((await courts[0]!.config()).referees, 3)
  })
})
