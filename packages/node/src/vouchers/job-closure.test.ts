import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Hex, zeroHash } from 'viem'
import { jobClosure, zeroLeaf } from './job-closure.ts'
import { extendJobsRoot } from './jobs-root.ts'
import { checkVoucher, type HeldJob } from './voucher-acceptance.ts'

const SPEC = `0x${'aa'.repeat(32)}` as Hex
const PRICE = 3n
const award = { specHash: SPEC, pricePerFuel: PRICE, claimDeadline: 1_000n }
const result = (seq: bigint) => `0x${seq.toString(16).padStart(64, '0')}` as Hex
const claim = (status: 'Pending' | 'Disputed' | 'Paid' | 'Rejected', fuelUsed = 7n) => ({
  status,
  amount: fuelUsed * PRICE,
  resultHash: `0x${'cc'.repeat(32)}` as Hex,
  fuelUsed,
})

describe('jobClosure (the CLOSED rule both sides apply)', () => {
  it('a paid claim closes the job at its amount, with the claimed result in the entry', () => {
    const c = jobClosure({ sequence: 4n, award, claim: claim('Paid'), now: 10n })
    assert.ok(c.closed)
    assert.equal(c.why, 'claim-paid')
    assert.equal(c.amount, 21n)
    assert.deepEqual(c.leaf, {
      sequence: 4n,
      specHash: SPEC,
      resultHash: claim('Paid').resultHash,
      fuelUsed: 7n,
      pricePerFuel: PRICE,
    })
  })
  it('a rejected claim closes it at 0 with the all-zero entry, before or after the deadline', () => {
    for (const now of [10n, 5_000n, undefined]) {
      const c = jobClosure({ sequence: 4n, award, claim: claim('Rejected'), ...(now ? { now } : {}) })
      assert.ok(c.closed)
      assert.equal(c.amount, 0n)
      assert.deepEqual(c.leaf, zeroLeaf(4n))
      assert.equal(c.leaf.specHash, zeroHash)
    }
  })
  it('no claim: open until the claim deadline has passed, closed at 0 after', () => {
    assert.deepEqual(jobClosure({ sequence: 2n, award, now: 999n }), { closed: false })
    assert.deepEqual(
      jobClosure({ sequence: 2n, award, now: 1_000n }),
      { closed: false },
      'a claim is still allowed at the deadline',
    )
    const c = jobClosure({ sequence: 2n, award, now: 1_001n })
    assert.ok(c.closed)
    assert.equal(c.why, 'claim-deadline')
    assert.equal(c.amount, 0n)
    // Without a time up to which claims are known, the deadline closes nothing.
    assert.deepEqual(jobClosure({ sequence: 2n, award }), { closed: false })
  })
  it('a pending or disputed claim never closes the job, even past the deadline', () => {
    for (const status of ['Pending', 'Disputed'] as const) {
      assert.deepEqual(jobClosure({ sequence: 2n, award, claim: claim(status), now: 9_999n }), {
        closed: false,
      })
    }
  })
})

describe('checkVoucher (the provider accepts a voucher)', () => {
  const delivered = (seq: bigint, fuelUsed = 10n): HeldJob => ({
    sequence: seq,
    award,
    delivered: { resultHash: result(seq), fuelUsed, amount: fuelUsed * PRICE },
  })
  const leafOf = (seq: bigint, fuelUsed = 10n) => ({
    sequence: seq,
    specHash: SPEC,
    resultHash: result(seq),
    fuelUsed,
    pricePerFuel: PRICE,
  })
  const base = { from: 0n, previousAmount: 0n, previousRoot: zeroHash }
  const check = (
    jobs: HeldJob[],
    through: bigint,
    cumulativeAmount: bigint,
    leaves: Parameters<typeof extendJobsRoot>[1],
    now = 10n,
  ) =>
    checkVoucher({
      ...base,
      through,
      cumulativeAmount,
      jobsRoot: extendJobsRoot(zeroHash, leaves),
      jobs: new Map(jobs.map((j) => [j.sequence, j])),
      now,
    })

  it('pays exactly the delivered jobs; less, more or another root is refused', () => {
    const jobs = [delivered(1n), delivered(2n)]
    assert.deepEqual(check(jobs, 2n, 60n, [leafOf(1n), leafOf(2n)]), { ok: true })
    assert.equal(check(jobs, 2n, 59n, [leafOf(1n), leafOf(2n)]).ok, false)
    assert.equal(check(jobs, 2n, 61n, [leafOf(1n), leafOf(2n)]).ok, false)
    assert.equal(check(jobs, 2n, 60n, [leafOf(1n), leafOf(2n, 11n)]).ok, false)
  })
  it('never lets a delivered job it can still claim count at 0', () => {
    // Job 1 delivered, deadline not passed, no claim: a voucher skipping it is refused.
    const r = check([delivered(1n), delivered(2n)], 2n, 30n, [zeroLeaf(1n), leafOf(2n)], 999n)
    assert.deepEqual([r.ok, !r.ok && r.refusal], [false, 'voucher-mismatch'])
    // A pending claim keeps it open past the deadline too.
    const pending = { ...delivered(1n), claim: claim('Pending') }
    assert.equal(check([pending, delivered(2n)], 2n, 30n, [zeroLeaf(1n), leafOf(2n)], 5_000n).ok, false)
    assert.equal(check([pending, delivered(2n)], 2n, 60n, [leafOf(1n), leafOf(2n)], 5_000n).ok, true)
  })
  it('covers a sequence it never received at 0, and refuses one awarded but not delivered', () => {
    assert.deepEqual(check([delivered(2n)], 2n, 30n, [zeroLeaf(1n), leafOf(2n)]), { ok: true })
    assert.equal(check([delivered(2n)], 2n, 31n, [zeroLeaf(1n), leafOf(2n)]).ok, false)
    const running: HeldJob = { sequence: 1n, award }
    const r = check([running, delivered(2n)], 2n, 30n, [zeroLeaf(1n), leafOf(2n)])
    assert.deepEqual([r.ok, !r.ok && r.refusal], [false, 'not-delivered'])
    // Past its claim deadline the job it never delivered is closed at 0.
    assert.equal(check([running, delivered(2n)], 2n, 30n, [zeroLeaf(1n), leafOf(2n)], 5_000n).ok, true)
  })
  it('a claimed job counts its ended claim: paid at the claim, rejected at 0, nothing else', () => {
    const paid = { ...delivered(1n), claim: claim('Paid') }
    const paidLeaf = { ...leafOf(1n), resultHash: claim('Paid').resultHash, fuelUsed: 7n }
    assert.equal(check([paid, delivered(2n)], 2n, 21n + 30n, [paidLeaf, leafOf(2n)]).ok, true)
    // Not at its delivered amount (the vault already paid the claim).
    assert.equal(check([paid, delivered(2n)], 2n, 60n, [leafOf(1n), leafOf(2n)]).ok, false)
    const rejected = { ...delivered(1n), claim: claim('Rejected') }
    assert.equal(check([rejected, delivered(2n)], 2n, 30n, [zeroLeaf(1n), leafOf(2n)]).ok, true)
    assert.equal(check([rejected, delivered(2n)], 2n, 60n, [leafOf(1n), leafOf(2n)]).ok, false)
  })
  it('past the deadline with no claim, each delivered job may be read at its amount or at 0', () => {
    const jobs = [delivered(1n), delivered(2n), delivered(3n)]
    const late = 5_000n
    // The requester rejected job 1 (0) and verified 2 and 3 (their amounts).
    assert.equal(check(jobs, 3n, 60n, [zeroLeaf(1n), leafOf(2n), leafOf(3n)], late).ok, true)
    assert.equal(check(jobs, 3n, 90n, [leafOf(1n), leafOf(2n), leafOf(3n)], late).ok, true)
    // The amount must match the reading the root names.
    assert.equal(check(jobs, 3n, 90n, [zeroLeaf(1n), leafOf(2n), leafOf(3n)], late).ok, false)
  })
  it('extends from the previous voucher', () => {
    const prevRoot = extendJobsRoot(zeroHash, [leafOf(1n)])
    const r = checkVoucher({
      from: 1n,
      previousAmount: 30n,
      previousRoot: prevRoot,
      through: 3n,
      cumulativeAmount: 60n,
      jobsRoot: extendJobsRoot(prevRoot, [zeroLeaf(2n), leafOf(3n)]),
      jobs: new Map([[3n, delivered(3n)]]),
      now: 10n,
    })
    assert.deepEqual(r, { ok: true })
  })
})
