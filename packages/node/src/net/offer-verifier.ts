import { marketDomain, type OfferWire, offerFromWire, offerTypedMessage, offerTypes } from '@bazaar/protocol'
import { type Address, verifyTypedData } from 'viem'
import type { GossipVerdict } from './topic-gossip.ts'

/**
 * Gossip check of a provider offer: another market's offer is ignored (not ours to judge or
 * forward), one whose EIP-712 signature does not recover to its provider is rejected (a forgery:
 * it counts against the peer that sent it). Runs inside the topic validator, so a forged offer
 * is neither delivered nor forwarded.
 */
export function createOfferVerifier(domain: {
  chainId: number
  market: Address
}): (wire: OfferWire) => Promise<GossipVerdict> {
  const typedDomain = marketDomain(domain.chainId, domain.market)
  return async (wire) => {
    if (wire.chainId !== domain.chainId || wire.market.toLowerCase() !== domain.market.toLowerCase()) {
      return 'ignore'
    }
    const offer = offerFromWire(wire)
    const valid = await verifyTypedData({
      address: offer.provider,
      domain: typedDomain,
      types: offerTypes,
      primaryType: 'Offer',
      message: offerTypedMessage(offer),
      signature: offer.signature,
    }).catch(() => false)
    return valid ? 'accept' : 'reject'
  }
}
