import { type Address, type Hex, isAddress, isHex } from 'viem'
import { z } from 'zod'
import { InvalidMessageError } from './errors.ts'
import { jobDescriptorSchema } from './job-descriptor.ts'

/**
 * Wire messages. Everything a peer sends is untrusted: it is size-capped before parsing
 * and validated here before any field is used. Integers travel as decimal strings.
 */
const uintString = z.string().regex(/^\d{1,78}$/, 'must be a decimal integer string')
const address = z.string().refine(isAddress, 'must be a 0x address') as unknown as z.ZodType<Address>
const hex = z
  .string()
  .refine((v) => isHex(v, { strict: true }), 'must be 0x hex') as unknown as z.ZodType<Hex>
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex') as unknown as z.ZodType<Hex>

export const jobAnnouncementSchema = z
  .object({
    type: z.literal('job-announcement'),
    chainId: z.int().positive(),
    market: address,
    jobId: uintString,
    requester: address,
    requesterPeerId: z.string().min(1).max(128),
    specHash: bytes32,
    job: jobDescriptorSchema,
    /** Unix ms; bids arriving later are ignored. */
    bidDeadline: z.int().positive(),
    /** Where to reach the requester directly (bids go there), so no lookup is needed. */
    requesterAddrs: z.array(z.string().min(1).max(256)).max(8).default([]),
  })
  .strict()
export type JobAnnouncement = z.output<typeof jobAnnouncementSchema>

export const bidMessageSchema = z
  .object({
    type: z.literal('bid'),
    jobId: uintString,
    provider: address,
    providerPeerId: z.string().min(1).max(128),
    pricePerFuel: uintString,
    expiry: uintString,
    signature: hex,
  })
  .strict()
export type BidMessageWire = z.output<typeof bidMessageSchema>

/**
 * A provider saying why it will not bid, so a job with no bids can tell its requester why
 * instead of waiting silently. Advisory only: it moves no money and commits nobody.
 */
export const bidDeclineSchema = z
  .object({
    type: z.literal('bid-decline'),
    jobId: uintString,
    provider: address,
    providerPeerId: z.string().min(1).max(128),
    reason: z.string().regex(/^[a-z-]{1,40}$/, 'must be a reason code such as "memory"'),
    detail: z.string().max(512),
  })
  .strict()
export type BidDecline = z.output<typeof bidDeclineSchema>

/** Everything a provider may send on the bid stream. */
export const bidStreamMessageSchema = z.discriminatedUnion('type', [bidMessageSchema, bidDeclineSchema])
export type BidStreamMessage = z.output<typeof bidStreamMessageSchema>

export const bidReplySchema = z
  .object({ type: z.literal('bid-reply'), accepted: z.boolean(), reason: z.string().max(512).optional() })
  .strict()
export type BidReply = z.output<typeof bidReplySchema>

export const awardNoticeSchema = z.discriminatedUnion('type', [
  /** You won: the award is on-chain in `txHash`; check it there before working. */
  z.object({ type: z.literal('award'), jobId: uintString, txHash: bytes32 }).strict(),
  /** You did not win: release the capacity the bid reserved. */
  z.object({ type: z.literal('bid-declined'), jobId: uintString }).strict(),
])
export type AwardNotice = z.output<typeof awardNoticeSchema>

export const awardReplySchema = z
  .object({ type: z.literal('award-reply'), accepted: z.boolean(), reason: z.string().max(512).optional() })
  .strict()
export type AwardReply = z.output<typeof awardReplySchema>

export const dataRequestSchema = z
  .object({ type: z.literal('data-request'), cid: z.string().min(1).max(128) })
  .strict()
export type DataRequest = z.output<typeof dataRequestSchema>

export const dataResponseSchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('data-response'), ok: z.literal(true), size: z.int().min(0) }).strict(),
  z
    .object({
      type: z.literal('data-response'),
      ok: z.literal(false),
      code: z.string().max(64),
      message: z.string().max(512),
    })
    .strict(),
])
export type DataResponse = z.output<typeof dataResponseSchema>

/** Decodes a JSON message and validates it against `schema`; throws InvalidMessageError. */
export function decodeMessage<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let data: unknown
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (cause) {
    throw new InvalidMessageError(`${what}: not valid UTF-8 JSON`, { cause })
  }
  const result = schema.safeParse(data)
  if (!result.success) {
    const first = result.error.issues[0]
    throw new InvalidMessageError(
      `${what}: ${first?.path.join('.') || '(root)'} ${first?.message ?? 'invalid'}`,
      {
        details: { issues: result.error.issues.length },
      },
    )
  }
  return result.data
}

export function encodeMessage(message: object): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message))
}
