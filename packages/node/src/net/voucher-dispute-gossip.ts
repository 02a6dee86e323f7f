import {
  TOPIC_VOUCHER_DISPUTES,
  type VoucherDisputeMessage,
  voucherDisputeMessageSchema,
} from '@bazaar/protocol'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { BazaarHost } from './create-host.ts'
import { createTopicGossip, type GossipVerdict, type TopicGossip } from './topic-gossip.ts'

export interface VoucherDisputeGossipInit {
  /** Called once per valid message; `fromPeer` is its signed origin (the requester or the provider). */
  onDispute: (message: VoucherDisputeMessage, fromPeer: PeerId) => void | Promise<void>
  /**
   * Checks a schema-valid message further (e.g. that its claim is disputed on-chain): 'reject'
   * counts against an origin that sent it to us itself, 'ignore' drops it quietly.
   */
  verify?: (message: VoucherDisputeMessage) => GossipVerdict | Promise<GossipVerdict>
  /** Called for every message the validator rejects (peer scoring). */
  onInvalid?: (from: PeerId, err: Error) => void
  /** Messages from these peers are ignored unread. */
  isBanned?: (peer: PeerId) => boolean
  logger?: Logger
}

export type VoucherDisputeGossip = TopicGossip<VoucherDisputeMessage>

/**
 * Jobs of disputed voucher claims over gossipsub (TOPIC_VOUCHER_DISPUTES, docs/vouchers.md), so
 * every provider in the referee pool gets one, not only those its requester heard an offer from
 * or its provider is connected to. Schema-checked and size-capped like every topic; the signed
 * sender must be one of the two parties the message names (the announcement's requester or the
 * claim's provider), so nobody can speak for a third peer. The content stays untrusted: a referee
 * keeps a job only if it hashes to the claim's on-chain spec hash under its fuel limit.
 */
export function createVoucherDisputeGossip(
  host: BazaarHost,
  init: VoucherDisputeGossipInit,
): VoucherDisputeGossip {
  return createTopicGossip(host, {
    topic: TOPIC_VOUCHER_DISPUTES,
    schema: voucherDisputeMessageSchema,
    what: 'voucher dispute',
    originOf: (message) => [
      message.announcement.requesterPeerId,
      ...(message.providerPeerId ? [message.providerPeerId] : []),
    ],
    onMessage: init.onDispute,
    ...(init.verify ? { verify: init.verify } : {}),
    ...(init.onInvalid ? { onInvalid: init.onInvalid } : {}),
    ...(init.isBanned ? { isBanned: init.isBanned } : {}),
    ...(init.logger ? { logger: init.logger } : {}),
  })
}
