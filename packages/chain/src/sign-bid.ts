import { type BidMessage, bidTypes, type SignedBid } from '@bazaar/protocol'
import type { Account, Chain, LocalAccount, Transport, TypedDataDomain, WalletClient } from 'viem'

/** Something that can sign EIP-712 data for the bidding provider. */
export type BidSigner = LocalAccount | WalletClient<Transport, Chain | undefined, Account>

/**
 * Signs a Bid with the provider's key. `domain` comes from `marketDomain(chainId, market)`
 * in @bazaar/protocol; the signature only verifies on that chain and market.
 */
export async function signBid(
  signer: BidSigner,
  domain: TypedDataDomain,
  bid: BidMessage,
): Promise<SignedBid> {
  const typedData = { domain, types: bidTypes, primaryType: 'Bid', message: bid } as const
  const signature =
    'account' in signer
      ? await signer.signTypedData({ account: signer.account, ...typedData })
      : await signer.signTypedData(typedData)
  return { ...bid, signature }
}
