import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Hex, zeroHash } from 'viem'
import { canAccept, exposureOf } from './exposure.ts'
import { extendJobsRoot, jobLeaf, jobsRoot } from './jobs-root.ts'

const leaf = (sequence: bigint, fuelUsed = 10n) => ({
  sequence,
  specHash: `0x${'aa'.repeat(32)}` as Hex,
  resultHash: `0x${sequence.toString(16).padStart(64, '0')}` as Hex,
  fuelUsed,
  pricePerFuel: 3n,
})

describe('jobsRoot', () => {
  it('extends incrementally to the same root as from scratch, and binds every field', () => {
    const jobs = [leaf(1n), leaf(2n), leaf(3n)]
    const all = jobsRoot(jobs)
    assert.equal(extendJobsRoot(extendJobsRoot(zeroHash, jobs.slice(0, 2)), jobs.slice(2)), all)
    assert.notEqual(jobsRoot([leaf(1n), leaf(2n), leaf(3n, 11n)]), all)
    assert.notEqual(jobsRoot([leaf(1n), leaf(2n)]), all)
    assert.notEqual(jobLeaf(leaf(1n)), jobLeaf({ ...leaf(1n), pricePerFuel: 4n }))
    assert.equal(jobsRoot([]), zeroHash)
  })
  it('refuses jobs out of sequence', () => {
    assert.throws(() => jobsRoot([leaf(2n)]), RangeError)
  })
})

describe('exposure', () => {
  it('counts delivered work at its amount and work in flight at its maximum, above the voucher', () => {
    const e = exposureOf({
      balance: 1_000n,
      collected: 100n,
      voucheredThrough: 2n,
      voucheredAmount: 250n,
      jobs: [
        { sequence: 1n, maxCost: 500n, amount: 100n },
        { sequence: 2n, maxCost: 500n, amount: 150n },
        { sequence: 3n, maxCost: 500n, amount: 40n },
        { sequence: 4n, maxCost: 300n },
        { sequence: 5n, maxCost: 300n, amount: 60n, claimed: true },
      ],
    })
    assert.deepEqual(e, { unvouchered: 340n, unredeemed: 150n, free: 510n })
    assert.deepEqual(canAccept(e, 500n, 10_000n), { ok: true })
    assert.equal(canAccept(e, 511n, 10_000n).ok, false)
    assert.equal(canAccept(e, 100n, 400n).ok, false)
    assert.deepEqual(canAccept(e, 60n, 400n), { ok: true })
  })
  it('never counts a redeemed voucher as owed', () => {
    const e = exposureOf({
      balance: 50n,
      collected: 300n,
      voucheredThrough: 1n,
      voucheredAmount: 300n,
      jobs: [],
    })
    assert.deepEqual(e, { unvouchered: 0n, unredeemed: 0n, free: 50n })
  })
})
