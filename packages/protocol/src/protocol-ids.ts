/** libp2p protocol ids and gossip topics. The version suffix changes on any wire change. */
export const PROTOCOL_BID = '/bazaar/bid/1.0.0'
export const PROTOCOL_AWARD = '/bazaar/award/1.0.0'
export const PROTOCOL_DATA = '/bazaar/data/1.0.0'
export const TOPIC_JOBS = 'bazaar/jobs/1'
/** Providers' signed capacity offers, republished before they expire. */
export const TOPIC_OFFERS = 'bazaar/offers/1'
/**
 * The jobs of disputed voucher claims (`voucher-dispute` messages, docs/vouchers.md), published by
 * the claim's requester or provider so every provider in the referee pool gets them.
 */
export const TOPIC_VOUCHER_DISPUTES = 'bazaar/voucher-disputes/1'

/** Caps on what a peer may send us; anything larger is refused before it is buffered. */
export const MAX_CONTROL_MESSAGE_BYTES = 64 * 1024
export const MAX_DATA_BYTES = 64 * 1024 * 1024
/** The voucher path (docs/vouchers.md): voucher jobs, signed awards, result notices, vouchers. */
export const PROTOCOL_VOUCHER = '/bazaar/voucher/1.0.0'
