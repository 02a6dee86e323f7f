import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertCid, bytes32ToCid, cidOf, cidToBytes32, parseCid } from './cid.ts'
import { CidMismatchError, InvalidMessageError } from './errors.ts'

describe('cid', () => {
  it('round-trips between CID and bytes32', async () => {
    const cid = await cidOf(new TextEncoder().encode('hello'))
    assert.match(cid, /^bafkrei/)
    const hash = cidToBytes32(cid)
    assert.equal(hash, '0x2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
    assert.equal(bytes32ToCid(hash), cid)
  })

  it('rejects bytes that do not match', async () => {
    const cid = await cidOf(new Uint8Array([1, 2, 3]))
    await assertCid(new Uint8Array([1, 2, 3]), cid)
    await assert.rejects(assertCid(new Uint8Array([1, 2, 4]), cid), CidMismatchError)
  })

  it('rejects garbage and unsupported CIDs', () => {
    assert.throws(() => parseCid('not-a-cid'), InvalidMessageError)
    // A CIDv0 (dag-pb) is a valid CID but not one Bazaar uses.
    assert.throws(() => parseCid('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'), InvalidMessageError)
  })
})
