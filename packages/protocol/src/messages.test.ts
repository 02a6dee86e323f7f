import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidMessageError } from './errors.ts'
import { bidMessageSchema, decodeMessage, encodeMessage } from './messages.ts'

const bid = {
  type: 'bid',
  jobId: '7',
  provider: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  providerPeerId: '12D3KooW',
  pricePerFuel: '1000',
  expiry: '1700000000',
  signature: '0x1234',
}

describe('wire messages', () => {
  it('round-trips a valid message', () => {
    assert.deepEqual(decodeMessage(bidMessageSchema, encodeMessage(bid), 'bid'), bid)
  })

  it('rejects garbage, wrong types and extra fields with a typed error', () => {
    const garbage = [
      new Uint8Array([0xff, 0xfe, 0x00]),
      encodeMessage({ ...bid, pricePerFuel: -1 }),
      encodeMessage({ ...bid, pricePerFuel: '1e18' }),
      encodeMessage({ ...bid, provider: '0xnothex' }),
      encodeMessage({ ...bid, extra: true }),
      encodeMessage([bid]),
      new TextEncoder().encode('{"type":"bid"'),
    ]
    for (const bytes of garbage)
      assert.throws(() => decodeMessage(bidMessageSchema, bytes, 'bid'), InvalidMessageError)
  })
})
