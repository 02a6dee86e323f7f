import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeMessage, encodeMessage } from './messages.ts'
import {
  awardFromWire,
  awardToWire,
  isVoucherJobId,
  VOUCHER_JOB_ID_BASE,
  voucherJobId,
  voucherStreamMessageSchema,
} from './voucher-messages.ts'

const award = {
  jobId: VOUCHER_JOB_ID_BASE + 5n,
  requester: '0x1111111111111111111111111111111111111111',
  provider: '0x2222222222222222222222222222222222222222',
  sequence: 3n,
  pricePerFuel: 10n ** 9n,
  maxFuel: 50_000_000n,
  specHash: `0x${'ab'.repeat(32)}`,
  resultDeadline: 1_700_000_000n,
  claimDeadline: 1_700_086_400n,
} as const

describe('voucher messages', () => {
  it('round-trips an award through the wire form', () => {
    const message = {
      type: 'voucher-award',
      award: awardToWire(award),
      signature: '0x1234',
    }
    const decoded = decodeMessage(voucherStreamMessageSchema, encodeMessage(message), 'voucher message')
    assert.equal(decoded.type, 'voucher-award')
    if (decoded.type === 'voucher-award') assert.deepEqual(awardFromWire(decoded.award), award)
  })

  it('refuses garbage: unknown fields, non-integers, sequences over 64 bits, bad hex', () => {
    const base = { type: 'voucher-award', award: awardToWire(award), signature: '0x12' }
    for (const bad of [
      { ...base, extra: 1 },
      { ...base, jobId: '1' },
      { ...base, award: { ...awardToWire(award), jobId: 'x' } },
      { ...base, award: { ...awardToWire(award), sequence: (2n ** 64n).toString() } },
      { ...base, award: { ...awardToWire(award), pricePerFuel: '-1' } },
      { ...base, signature: 'not hex' },
      { ...base, award: { ...awardToWire(award), specHash: '0x12' } },
      { type: 'voucher', voucher: {}, signature: '0x' },
      { type: 'voucher-job', payment: { kind: 'escrow', vault: award.provider }, announcement: {} },
      { type: 'voucher-dispute', claimId: '0x12', announcement: {} },
    ]) {
      assert.throws(() => decodeMessage(voucherStreamMessageSchema, encodeMessage(bad), 'voucher message'), {
        name: 'InvalidMessageError',
      })
    }
  })

  it('carries a disputed claim job to the referee pool', () => {
    const job = {
      name: 'w',
      runtime: 'wasm',
      moduleCid: 'bafkreimodule',
      args: [],
      env: {},
      inputs: [],
      resources: { cores: 1, memoryMb: 64 },
      limits: { fuel: '50000000', timeoutMs: 1000, outputBytes: 100 },
      maxPricePerFuel: '3',
      verification: { mode: 'none' },
    }
    const message = {
      type: 'voucher-dispute',
      claimId: `0x${'cd'.repeat(32)}`,
      providerPeerId: '12D3KooWProvider',
      announcement: {
        type: 'job-announcement',
        chainId: 31337,
        market: award.provider,
        jobId: VOUCHER_JOB_ID_BASE.toString(),
        requester: award.requester,
        requesterPeerId: '12D3KooWRequester',
        specHash: award.specHash,
        job,
        bidDeadline: 1,
        requesterAddrs: [],
      },
    }
    const decoded = decodeMessage(voucherStreamMessageSchema, encodeMessage(message), 'voucher message')
    assert.deepEqual(decoded, message)
    for (const bad of [
      { ...message, claimId: '0x12' },
      { ...message, announcement: { ...message.announcement, job: {} } },
      { type: 'voucher-dispute', claimId: message.claimId },
    ]) {
      assert.throws(() => decodeMessage(voucherStreamMessageSchema, encodeMessage(bad), 'voucher message'), {
        name: 'InvalidMessageError',
      })
    }
  })

  it('gives voucher jobs ids no JobMarket job can have, distinct per nonce', () => {
    const a = voucherJobId(award.requester, `0x${'01'.repeat(32)}`)
    const b = voucherJobId(award.requester, `0x${'02'.repeat(32)}`)
    assert.ok(isVoucherJobId(a) && isVoucherJobId(b))
    assert.notEqual(a, b)
    assert.ok(a < 2n ** 256n)
    assert.equal(isVoucherJobId(12n), false)
    assert.equal(isVoucherJobId(VOUCHER_JOB_ID_BASE - 1n), false)
  })
})
