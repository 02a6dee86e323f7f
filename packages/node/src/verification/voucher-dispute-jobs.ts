import type { VoucherDisputeMessage } from '@bazaar/protocol'
import type { Hex } from 'viem'

/** What a referee needs to re-execute a disputed voucher claim's job (as the requester sent it). */
export interface VoucherDisputeJob {
  announcement: VoucherDisputeMessage['announcement']
  /** The claim's provider, which also serves the module, the inputs and its claimed receipt. */
  providerPeerId?: string
}

const MAX_COPIES_PER_CLAIM = 16

/**
 * The jobs of disputed voucher claims, by claim id, as the claim's requester and provider push
 * them to the referee pool (`voucher-dispute` on PROTOCOL_VOUCHER and on the voucher-dispute
 * gossip topic). Voucher jobs are not on the job topic, so this is where a drawn referee finds
 * one. Untrusted: the referee checks each against the claim on-chain. Bounded: the oldest entry
 * goes when full, and a later message for a claim replaces nothing already held (the first
 * answers stand, so a flood cannot evict a job under judgement by re-sending it). The same job
 * arriving again (directly and by gossip, or re-sent) is kept once.
 */
export class VoucherDisputeJobs {
  readonly #entries = new Map<string, VoucherDisputeJob[]>()
  readonly #capacity: number

  constructor(capacity = 1_000) {
    this.#capacity = capacity
  }

  /**
   * Keeps one more candidate job for the claim: at most 16 per claim (a claim has one true job;
   * copies differ only in the peers they name as sources, and a referee tries each in turn).
   */
  remember(message: VoucherDisputeMessage): void {
    const key = message.claimId.toLowerCase()
    const list = this.#entries.get(key) ?? []
    const same = (held: VoucherDisputeJob) =>
      held.providerPeerId === message.providerPeerId &&
      JSON.stringify(held.announcement) === JSON.stringify(message.announcement)
    if (list.length >= MAX_COPIES_PER_CLAIM || list.some(same)) return
    list.push({
      announcement: message.announcement,
      ...(message.providerPeerId ? { providerPeerId: message.providerPeerId } : {}),
    })
    this.#entries.set(key, list)
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }

  /** The candidate jobs received for `claimId` (a referee keeps the one matching the claim). */
  get(claimId: Hex): readonly VoucherDisputeJob[] {
    return this.#entries.get(claimId.toLowerCase()) ?? []
  }
}
