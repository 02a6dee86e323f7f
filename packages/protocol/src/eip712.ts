import type { Address, Hex, TypedDataDomain } from 'viem'

/**
 * EIP-712 typed data shared by nodes (signing) and the JobMarket contract (verifying).
 * The domain binds a signature to one chain and one market contract; the bid binds it
 * to one job, one provider, one price and an expiry, so it cannot be replayed elsewhere.
 * Keep this in lockstep with BID_TYPEHASH in JobMarket.sol.
 */
export const EIP712_NAME = 'Bazaar JobMarket'
export const EIP712_VERSION = '1'

export function marketDomain(chainId: number, market: Address): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId, verifyingContract: market }
}

export const bidTypes = {
  Bid: [
    { name: 'jobId', type: 'uint256' },
    { name: 'provider', type: 'address' },
    { name: 'pricePerFuel', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const

export interface BidMessage {
  jobId: bigint
  provider: Address
  /** Token base units paid per unit of fuel actually used. */
  pricePerFuel: bigint
  /** Unix seconds after which the bid can no longer be awarded. */
  expiry: bigint
}

export interface SignedBid extends BidMessage {
  signature: Hex
}
