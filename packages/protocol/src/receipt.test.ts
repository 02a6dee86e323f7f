import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeReceipt, type ResultReceipt, receiptIsFor, resultReceiptSchema } from './receipt.ts'

const SPEC = `0x${'ab'.repeat(32)}`

describe('result receipts', () => {
  it('takes version 1 (names the job id) and version 2 (names the spec hash of a replica group)', () => {
    const v1 = resultReceiptSchema.parse({
      version: 1,
      jobId: '7',
      status: 'ok',
      exitCode: 0,
      outputCid: 'bafk',
      outputBytes: 3,
      fuelUsed: '10',
    })
    const v2 = resultReceiptSchema.parse({
      version: 2,
      specHash: SPEC,
      status: 'error',
      errorCode: 'E_OUT_OF_FUEL',
      errorMessage: 'raise limits.fuel',
      fuelUsed: '10',
    })
    assert.equal(v1.jobId, '7')
    assert.equal(v2.jobId, undefined)
    assert.ok(receiptIsFor(v1, { jobId: '7', specHash: SPEC }))
    assert.ok(!receiptIsFor(v1, { jobId: '8', specHash: SPEC }))
    assert.ok(receiptIsFor(v2, { jobId: '1', specHash: SPEC.toUpperCase().replace('0X', '0x') }))
    assert.ok(receiptIsFor(v2, { jobId: '2', specHash: SPEC }), 'any replica of the group')
    assert.ok(!receiptIsFor(v2, { jobId: '1', specHash: `0x${'cd'.repeat(32)}` }))
  })

  it('refuses mixed forms: a version 2 receipt naming a job, a version 1 without one', () => {
    const ok = { status: 'ok', exitCode: 0, outputCid: 'bafk', outputBytes: 3, fuelUsed: '10' }
    assert.equal(
      resultReceiptSchema.safeParse({ version: 2, specHash: SPEC, jobId: '1', ...ok }).success,
      false,
    )
    assert.equal(resultReceiptSchema.safeParse({ version: 1, specHash: SPEC, ...ok }).success, false)
    assert.equal(resultReceiptSchema.safeParse({ version: 2, specHash: 'nope', ...ok }).success, false)
  })

  it('encodes version 2 receipts of two replicas byte for byte alike (same result hash)', () => {
    const replica = (): ResultReceipt => ({
      version: 2,
      specHash: SPEC,
      status: 'ok',
      exitCode: 0,
      outputCid: 'bafk',
      outputBytes: 3,
      fuelUsed: '10',
    })
    assert.deepEqual(encodeReceipt(replica()), encodeReceipt({ ...replica() }))
  })
})
