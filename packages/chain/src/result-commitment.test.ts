import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { concatHex, keccak256, numberToHex, pad } from 'viem'
import { resultCommitment } from './result-commitment.ts'

describe('resultCommitment', () => {
  it('is keccak256 of the abi-encoded (bytes32, uint64, bytes32, address) words', () => {
    const input = {
      resultHash: `0x${'ab'.repeat(32)}`,
      fuelUsed: 123_456_789n,
      salt: `0x${'cd'.repeat(32)}`,
      provider: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    } as const
    const words = concatHex([
      input.resultHash,
      numberToHex(input.fuelUsed, { size: 32 }),
      input.salt,
      pad(input.provider, { size: 32 }),
    ])
    assert.equal(resultCommitment(input), keccak256(words))
  })

  it('changes with every field', () => {
    const base = {
      resultHash: `0x${'11'.repeat(32)}`,
      fuelUsed: 1n,
      salt: `0x${'22'.repeat(32)}`,
      provider: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    } as const
    const variants = [
      { ...base, resultHash: `0x${'12'.repeat(32)}` as const },
      { ...base, fuelUsed: 2n },
      { ...base, salt: `0x${'23'.repeat(32)}` as const },
      { ...base, provider: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as const },
    ]
    for (const v of variants) assert.notEqual(resultCommitment(v), resultCommitment(base))
  })
})
