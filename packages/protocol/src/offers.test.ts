import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { recoverTypedDataAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { marketDomain } from './eip712.ts'
import { decodeMessage, encodeMessage } from './messages.ts'
import {
  type OfferMessage,
  offerFromWire,
  offerToWire,
  offerTypedMessage,
  offerTypes,
  offerWireSchema,
} from './offers.ts'

const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const domain = marketDomain(31337, market)

const offer: OfferMessage = {
  provider: account.address,
  peerId: '12D3KooWExample',
  cores: 8,
  memoryMb: 16_384,
  gpus: [{ model: 'NVIDIA A100', memoryMb: 40_960 }],
  runtimes: ['wasm'],
  floorPricePerFuel: 1_000_000_000n,
  stake: 10n ** 21n,
  region: 'eu-west',
  attributes: [{ key: 'tee', value: 'none' }],
  issuedAt: 1_700_000_000n,
  expiry: 1_700_000_600n,
  sequence: 7n,
}

async function sign(message: OfferMessage) {
  return account.signTypedData({
    domain,
    types: offerTypes,
    primaryType: 'Offer',
    message: offerTypedMessage(message),
  })
}

describe('offers', () => {
  it('round-trips through the wire and recovers the provider from the signature', async () => {
    const signature = await sign(offer)
    const bytes = encodeMessage(offerToWire({ ...offer, signature }, 31337, market))
    const decoded = offerFromWire(decodeMessage(offerWireSchema, bytes, 'offer'))
    assert.equal(decoded.chainId, 31337)
    assert.equal(decoded.sequence, 7n)
    assert.deepEqual(decoded.gpus, offer.gpus)
    const signer = await recoverTypedDataAddress({
      domain: marketDomain(decoded.chainId, decoded.market),
      types: offerTypes,
      primaryType: 'Offer',
      message: offerTypedMessage(decoded),
      signature: decoded.signature,
    })
    assert.equal(signer, account.address)
  })

  it('binds every field: a changed floor no longer recovers the provider', async () => {
    const signature = await sign(offer)
    const signer = await recoverTypedDataAddress({
      domain,
      types: offerTypes,
      primaryType: 'Offer',
      message: offerTypedMessage({ ...offer, floorPricePerFuel: 1n }),
      signature,
    })
    assert.notEqual(signer, account.address)
  })

  it('rejects malformed offers', async () => {
    const signature = await sign(offer)
    const good = offerToWire({ ...offer, signature }, 31337, market)
    const bad = [
      { ...good, cores: 0 },
      { ...good, expiry: good.issuedAt },
      { ...good, attributes: [...good.attributes, { key: 'tee', value: 'sgx' }] },
      { ...good, runtimes: [] },
      { ...good, floorPricePerFuel: '-1' },
      { ...good, extra: 1 },
      { ...good, gpus: Array.from({ length: 17 }, () => ({ model: 'x', memoryMb: 1 })) },
    ]
    for (const wire of bad) assert.equal(offerWireSchema.safeParse(wire).success, false, JSON.stringify(wire))
    assert.equal(offerWireSchema.safeParse(good).success, true)
  })
})
