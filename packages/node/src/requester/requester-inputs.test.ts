/**
 * Hostile input to a requester: forged, replayed, expired and foreign offers, and forged or
 * out-of-window bids. Each is dropped and counted; none throws. The chain and network are
 * fakes here (this tests the role's checks); the real path is in test/*.e2e.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  bidTypes,
  marketDomain,
  type OfferMessage,
  offerToWire,
  offerTypedMessage,
  offerTypes,
} from '@bazaar/protocol'
import pino from 'pino'
import { verifyTypedData } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createMemoryContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import { RequesterService } from './requester-service.ts'

const market = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const
const chainId = 31337
const domain = marketDomain(chainId, market)
const provider = privateKeyToAccount(generatePrivateKey())
const stranger = privateKeyToAccount(generatePrivateKey())

const chain = {
  chainId,
  market,
  address: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
  verifyBid: ({ signature, ...message }) =>
    verifyTypedData({
      address: message.provider,
      domain,
      types: bidTypes,
      primaryType: 'Bid',
      message,
      signature,
    }),
} as Partial<MarketChain> as MarketChain

function requester() {
  return new RequesterService(
    {},
    {
      chain,
      network: {} as NetworkServices,
      store: createMemoryContentStore(),
      logger: pino({ level: 'silent' }),
      standingOf: async () => ({ stake: 0n, jailed: false }),
    },
  )
}

function offer(overrides: Partial<OfferMessage> = {}): OfferMessage {
  const now = BigInt(Math.floor(Date.now() / 1000))
  return {
    provider: provider.address,
    peerId: '12D3KooWProvider',
    cores: 2,
    memoryMb: 512,
    gpus: [],
    runtimes: ['wasm'],
    floorPricePerFuel: 1_000n,
    stake: 100n,
    region: '',
    attributes: [],
    issuedAt: now,
    expiry: now + 60n,
    sequence: 5n,
    ...overrides,
  }
}

async function signed(message: OfferMessage, signer = provider) {
  const signature = await signer.signTypedData({
    domain,
    types: offerTypes,
    primaryType: 'Offer',
    message: offerTypedMessage(message),
  })
  return offerToWire({ ...message, signature }, chainId, market)
}

describe('requester input checks', () => {
  it('keeps a valid offer and drops forged, replayed, expired and foreign ones, counting each', async () => {
    const r = requester()
    assert.equal(await r.onOffer(await signed(offer())), 'added')
    assert.equal(await r.onOffer(await signed(offer(), stranger)), 'signature-invalid')
    assert.equal(await r.onOffer(await signed(offer({ sequence: 4n }))), 'stale-sequence')
    const past = BigInt(Math.floor(Date.now() / 1000)) - 120n
    assert.equal(
      await r.onOffer(await signed(offer({ sequence: 6n, issuedAt: past, expiry: past + 60n }))),
      'expired',
    )
    assert.equal(await r.onOffer({ ...(await signed(offer({ sequence: 7n }))), chainId: 1 }), 'other-market')
    // A valid signature over different content is not the provider's offer.
    assert.equal(
      await r.onOffer({ ...(await signed(offer({ sequence: 8n }))), cores: 64 }),
      'signature-invalid',
    )
    assert.equal(r.offers.size, 1)
    assert.equal(r.offers.get(provider.address)?.sequence, 5n)
    assert.equal(r.dropped.offers.get('signature-invalid'), 2)
    assert.equal(r.dropped.offers.get('stale-sequence'), 1)
  })

  it('refuses bids for unknown jobs without recording anything', async () => {
    const r = requester()
    const reply = await r.onBid({
      type: 'bid',
      jobId: '42',
      provider: provider.address,
      providerPeerId: 'x',
      pricePerFuel: '1',
      expiry: '9999999999',
      signature: '0x00',
    })
    assert.deepEqual(reply, { type: 'bid-reply', accepted: false, reason: 'no open auction for this job' })
  })
})
