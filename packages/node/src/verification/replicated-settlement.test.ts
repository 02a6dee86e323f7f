/**
 * The requester's side of a replicated case against a scripted court (the real court's life is
 * tested in packages/contracts; the whole path on real parts in test/replicated.e2e).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CourtCase, CourtDispute } from '@bazaar/chain'
import { type Hex, stringToHex } from 'viem'
import { failure } from '../requester/replicated-job.ts'
import {
  openReplicated,
  type ReplicatedCourt,
  type ReplicatedEvent,
  replicatedVerdict,
  settleReplicated,
} from './replicated-settlement.ts'

type Settlement = { paid: bigint; fee: bigint; refunded: bigint; slashed: bigint; reason?: Hex }

/** A court that settles at once (agreeing replicas), or after one dispute with a verdict. */
function scriptedCourt(settlements: Map<bigint, Settlement>, disputed: boolean) {
  let status: CourtCase['status'] = 'Running'
  let disputeId = 0n
  let resolved = false
  let drawn = false
  const calls: string[] = []
  const court: ReplicatedCourt = {
    openReplicated: async (jobIds) => {
      calls.push(`open ${jobIds.join(',')}`)
      return { caseId: 9n, gasUsed: 1n }
    },
    settleCase: async () => {
      calls.push('settle')
      if (disputed) {
        status = 'Disputed'
        disputeId = 4n
      } else status = 'Settled'
      return { gasUsed: 2n }
    },
    getCase: async () => ({ caseId: 9n, status, disputeId, jobIds: [1n, 2n] }) as unknown as CourtCase,
    getDispute: async (id) =>
      ({ disputeId: id, resolved, commitDeadline: drawn ? 100n : 0n, caseId: 9n }) as unknown as CourtDispute,
    drawReferees: async () => {
      calls.push('draw')
      drawn = true
      return { referees: ['0x0000000000000000000000000000000000000001'], gasUsed: 3n }
    },
    resolveDispute: async () => {
      calls.push('resolve')
      resolved = true
      status = 'Settled'
      return { gasUsed: 4n }
    },
    settlementOf: async (jobId) => settlements.get(jobId),
  }
  return { court, calls }
}

const paid = (amount: bigint, escrow: bigint): Settlement => ({
  paid: amount,
  fee: 0n,
  refunded: escrow - amount,
  slashed: 0n,
})

describe('replicated case settlement', () => {
  it('agreeing replicas: settled at once, both upheld, verdict agreed', async () => {
    const { court, calls } = scriptedCourt(
      new Map([
        [1n, paid(30n, 100n)],
        [2n, paid(30n, 100n)],
      ]),
      false,
    )
    const events: ReplicatedEvent[] = []
    const init = { court, pollMs: 1, onEvent: (e: ReplicatedEvent) => events.push(e) }
    const opened = await openReplicated(init, [1n, 2n])
    assert.equal(opened.caseId, 9n)
    const outcome = await settleReplicated(init, 9n, [1n, 2n], () => 100n)
    assert.equal(outcome.verdict, 'agreed')
    assert.equal(outcome.disputed, false)
    assert.deepEqual([outcome.paid, outcome.refunded], [60n, 140n])
    assert.deepEqual(calls, ['open 1,2', 'settle'])
    assert.deepEqual(
      events.map((e) => e.type),
      ['replicas-linked', 'replicas-settled'],
    )
  })

  it('a disagreement: referees drawn, dispute resolved, the wrong replica slashed, verdict verified', async () => {
    const { court, calls } = scriptedCourt(
      new Map([
        [1n, { paid: 0n, fee: 0n, refunded: 100n, slashed: 10n }],
        [2n, paid(30n, 100n)],
      ]),
      true,
    )
    const events: ReplicatedEvent[] = []
    const outcome = await settleReplicated(
      { court, pollMs: 1, onEvent: (e) => events.push(e) },
      9n,
      [1n, 2n],
      () => 100n,
    )
    assert.equal(outcome.verdict, 'verified')
    assert.equal(outcome.disputed, true)
    assert.deepEqual(
      outcome.replicas.map((r) => r.status),
      ['slashed', 'upheld'],
    )
    assert.deepEqual(calls, ['settle', 'draw', 'resolve'])
    assert.deepEqual(
      events.map((e) => e.type),
      ['referees-drawn', 'dispute-resolved', 'replicas-settled'],
    )
    assert.equal(outcome.gasUsed, 2n + 3n + 4n)
  })

  it('an expired replica has no verifier settlement: its escrow counts as refunded', async () => {
    const { court } = scriptedCourt(new Map([[2n, paid(30n, 100n)]]), true)
    const outcome = await settleReplicated({ court, pollMs: 1 }, 9n, [1n, 2n], () => 100n)
    assert.deepEqual(
      outcome.replicas.map((r) => [r.status, r.refunded]),
      [
        ['expired', 100n],
        ['upheld', 70n],
      ],
    )
    assert.equal(outcome.verdict, 'verified')
  })

  it('verdicts from what became of each replica', () => {
    const of = (...statuses: ('upheld' | 'slashed' | 'undetermined' | 'expired')[]) =>
      statuses.map((status) => ({ status }))
    assert.equal(replicatedVerdict(of('upheld', 'upheld'), false), 'agreed')
    assert.equal(replicatedVerdict(of('slashed', 'upheld'), true), 'verified')
    assert.equal(replicatedVerdict(of('slashed', 'slashed'), true), 'provider-wrong')
    assert.equal(replicatedVerdict(of('slashed', 'expired'), true), 'provider-wrong')
    assert.equal(replicatedVerdict(of('undetermined', 'undetermined'), true), 'undetermined')
    assert.equal(replicatedVerdict(of('expired', 'expired'), false), 'none-revealed')
  })

  it('a typed error for every verdict without an upheld result', () => {
    assert.equal(failure({ verdict: 'provider-wrong' }, 1n).code, 'E_VERIFICATION_FAILED')
    assert.equal(failure({ verdict: 'undetermined' }, 1n).code, 'E_UNDETERMINED')
    assert.equal(failure({ verdict: 'none-revealed' }, 1n).code, 'E_TIMEOUT')
  })

  it('takes an undetermined settlement (no referee majority) as undetermined, not wrong', async () => {
    const undetermined: Settlement = {
      paid: 0n,
      fee: 0n,
      refunded: 100n,
      slashed: 0n,
      reason: stringToHex('UNDETERMINED', { size: 32 }),
    }
    const { court } = scriptedCourt(
      new Map([
        [1n, undetermined],
        [2n, undetermined],
      ]),
      true,
    )
    const outcome = await settleReplicated({ court, pollMs: 1 }, 9n, [1n, 2n], () => 100n)
    assert.equal(outcome.verdict, 'undetermined')
    assert.equal(outcome.paid, 0n)
  })
})
