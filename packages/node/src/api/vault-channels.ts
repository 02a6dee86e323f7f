import type { BazaarContracts } from '@bazaar/chain'
import { voucherVaultAbi } from '@bazaar/contracts'
import type { Address } from 'viem'
import type { VoucherChannelState } from '../vouchers/voucher-job-view.ts'

/** Reads the vault's counters of one (requester, provider) pair. */
export type VaultChannelReader = (
  vault: Address,
  requester: Address,
  provider: Address,
) => Promise<VoucherChannelState>

/** A channel reader over any signer's contracts (a view call: nothing is sent). */
export function vaultChannelReader(contracts: Pick<BazaarContracts, 'readOther'>): VaultChannelReader {
  return async (vault, requester, provider) => {
    const c = await contracts.readOther<{ collected: bigint; paidThrough: bigint | number }>(
      'VoucherVault.channelOf',
      { address: vault, abi: voucherVaultAbi, functionName: 'channelOf', args: [requester, provider] },
    )
    return { collected: c.collected, paidThrough: BigInt(c.paidThrough) }
  }
}

/**
 * One API request's channel reads: each pair is read once however many of its jobs the answer
 * shows, and a failed read (chain unreachable) is `undefined`, so the answer says "unknown"
 * instead of failing or guessing.
 */
export function memoizedChannels(read: VaultChannelReader | undefined) {
  const seen = new Map<string, Promise<VoucherChannelState | undefined>>()
  return (
    vault: Address,
    requester: Address,
    provider: Address,
  ): Promise<VoucherChannelState | undefined> => {
    if (!read) return Promise.resolve(undefined)
    const key = `${vault}:${requester}:${provider}`.toLowerCase()
    let pending = seen.get(key)
    if (!pending) {
      pending = read(vault, requester, provider).catch(() => undefined)
      seen.set(key, pending)
    }
    return pending
  }
}
