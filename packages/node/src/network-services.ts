import type { JobAnnouncement, OfferWire, VoucherDisputeMessage } from '@bazaar/protocol'
import type { z } from 'zod'
import type { PeerPenaltiesStats } from './net/peer-penalties.ts'

/**
 * The node's view of the peer-to-peer network: request/response on a protocol, content
 * fetch by CID (verified), and job gossip. Built over libp2p by `createNetworkServices`.
 */
export interface NetworkServices {
  readonly peerId: string
  multiaddrs(): string[]
  request<T>(
    peer: string,
    protocol: string,
    message: object,
    responseSchema: z.ZodType<T>,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<T>
  /** Fetches content by CID from a peer and verifies it; throws CidMismatchError on bad bytes. */
  fetch(peer: string, cid: string, options?: { signal?: AbortSignal; maxBytes?: number }): Promise<Uint8Array>
  /** Records where a peer can be dialed (e.g. the addresses a requester announces). */
  rememberPeer(peer: string, multiaddrs: string[]): Promise<void>
  /** Peers connected now (whom a provider can tell about a disputed voucher claim's job). */
  peers?(): string[]
  publishJob(announcement: JobAnnouncement): Promise<void>
  publishOffer(offer: OfferWire): Promise<void>
  /**
   * Publishes a disputed voucher claim's job on the voucher-dispute topic (every provider in the
   * gossip mesh gets it); this node must be its requester or its provider.
   */
  publishVoucherDispute?(message: VoucherDisputeMessage): Promise<void>
  /** Resolves once at least `min` peers subscribe to job gossip. */
  waitForJobSubscribers(min: number, options?: { signal?: AbortSignal }): Promise<void>
  /** Garbage received by kind, bans imposed and peers banned now (for /metrics). */
  misbehaviour(): PeerPenaltiesStats
  /** True while `peer` is banned for misbehaviour (its connections refused, its messages ignored). */
  isBanned(peer: string): boolean
  stop(): Promise<void>
}
