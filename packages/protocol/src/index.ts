export { formatTokens, parseTokens, TOKEN_DECIMALS, TOKEN_SYMBOL } from './amounts.ts'
export { assertCid, bytes32ToCid, cidOf, cidToBytes32, parseCid } from './cid.ts'
export {
  type BidMessage,
  bidTypes,
  EIP712_NAME,
  EIP712_VERSION,
  marketDomain,
  type SignedBid,
} from './eip712.ts'
export {
  BaseError,
  type BaseErrorOptions,
  CidMismatchError,
  describeError,
  ErrorCode,
  InvalidMessageError,
} from './errors.ts'
export {
  canonicalJson,
  hashJobDescriptor,
  type JobDescriptor,
  jobDescriptorSchema,
} from './job-descriptor.ts'
export {
  type AwardNotice,
  type AwardReply,
  awardNoticeSchema,
  awardReplySchema,
  type BidDecline,
  type BidMessageWire,
  type BidReply,
  type BidStreamMessage,
  bidDeclineSchema,
  bidMessageSchema,
  bidReplySchema,
  bidStreamMessageSchema,
  type DataRequest,
  type DataResponse,
  dataRequestSchema,
  dataResponseSchema,
  decodeMessage,
  encodeMessage,
  type JobAnnouncement,
  jobAnnouncementSchema,
} from './messages.ts'
export {
  MAX_OFFER_BYTES,
  type OfferAttribute,
  type OfferGpu,
  type OfferMessage,
  type OfferWire,
  offerFromWire,
  offerToWire,
  offerTypedMessage,
  offerTypes,
  offerWireSchema,
  type SignedOffer,
} from './offers.ts'
export {
  MAX_CONTROL_MESSAGE_BYTES,
  MAX_DATA_BYTES,
  PROTOCOL_AWARD,
  PROTOCOL_BID,
  PROTOCOL_DATA,
  TOPIC_JOBS,
  TOPIC_OFFERS,
} from './protocol-ids.ts'
export { encodeReceipt, type ResultReceipt, resultReceiptSchema } from './receipt.ts'
export {
  InvalidSpecError,
  type JobSpec,
  type JobSpecInput,
  jobSpecSchema,
  parseJobSpec,
  type SourceRef,
  type SpecIssue,
  validateJobSpec,
} from './spec.ts'
export { DEFAULT_AUDIT_PROBABILITY } from './spec-fields.ts'
