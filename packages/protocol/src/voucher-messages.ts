import { type Address, encodePacked, type Hex, isAddress, isHex, keccak256, type TypedDataDomain } from 'viem'
import { z } from 'zod'
import { jobAnnouncementSchema } from './messages.ts'

/**
 * The voucher path (docs/vouchers.md): jobs paid off-chain by cumulative EIP-712 vouchers of the
 * VoucherVault instead of a JobMarket escrow per job. Typed data matches VoucherVault.sol
 * (VOUCHER_TYPEHASH, AWARD_TYPEHASH; the contract tests check them against viem's hashing).
 */
export const VAULT_EIP712_NAME = 'Bazaar VoucherVault'
export const VAULT_EIP712_VERSION = '1'

export function vaultDomain(chainId: number, vault: Address): TypedDataDomain {
  return { name: VAULT_EIP712_NAME, version: VAULT_EIP712_VERSION, chainId, verifyingContract: vault }
}

export const voucherTypes = {
  Voucher: [
    { name: 'requester', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'paidThroughSequence', type: 'uint64' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'jobsRoot', type: 'bytes32' },
  ],
} as const

export const voucherAwardTypes = {
  Award: [
    { name: 'jobId', type: 'uint256' },
    { name: 'requester', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'sequence', type: 'uint64' },
    { name: 'pricePerFuel', type: 'uint256' },
    { name: 'maxFuel', type: 'uint64' },
    { name: 'specHash', type: 'bytes32' },
    { name: 'resultDeadline', type: 'uint64' },
    { name: 'claimDeadline', type: 'uint64' },
  ],
} as const

/** A cumulative payment: everything owed for jobs 1..paidThroughSequence of one pair. */
export interface VoucherTerms {
  requester: Address
  provider: Address
  paidThroughSequence: bigint
  cumulativeAmount: bigint
  /** Hash chain over the jobs covered (see the node's jobs-root.ts). */
  jobsRoot: Hex
}

/** One job's terms, signed by the requester when it hands job `sequence` to the provider. */
export interface VoucherAward {
  /** The voucher job's id ({@link voucherJobId}): its result receipt names it. */
  jobId: bigint
  requester: Address
  provider: Address
  sequence: bigint
  pricePerFuel: bigint
  maxFuel: bigint
  specHash: Hex
  /** Unix seconds: when the result is due (informative on-chain). */
  resultDeadline: bigint
  /** Unix seconds: last moment the provider may claim the job on-chain. */
  claimDeadline: bigint
}

/**
 * Voucher-job ids live at and above 2^255. JobMarket ids are a counter from 1 that never gets
 * there, so a bid signed for a voucher job (same Bid typed data, JobMarket domain) can never be
 * awarded on JobMarket, and the id is a hash of requester and nonce, so it never repeats across
 * jobs: the bid is bound to one voucher job.
 */
export const VOUCHER_JOB_ID_BASE = 2n ** 255n

export function voucherJobId(requester: Address, nonce: Hex): bigint {
  const digest = BigInt(keccak256(encodePacked(['address', 'bytes32'], [requester, nonce])))
  return VOUCHER_JOB_ID_BASE + (digest % VOUCHER_JOB_ID_BASE)
}

export function isVoucherJobId(jobId: bigint | string): boolean {
  return BigInt(jobId) >= VOUCHER_JOB_ID_BASE
}

const uintString = z.string().regex(/^\d{1,78}$/, 'must be a decimal integer string')
const uint64String = uintString.refine((v) => BigInt(v) < 2n ** 64n, 'must fit in 64 bits')
const address = z.string().refine(isAddress, 'must be a 0x address') as unknown as z.ZodType<Address>
const signature = z
  .string()
  .max(1024)
  .refine((v) => isHex(v, { strict: true }), 'must be 0x hex') as unknown as z.ZodType<Hex>
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex') as unknown as z.ZodType<Hex>

export const voucherAwardWireSchema = z
  .object({
    jobId: uintString,
    requester: address,
    provider: address,
    sequence: uint64String,
    pricePerFuel: uintString,
    maxFuel: uint64String,
    specHash: bytes32,
    resultDeadline: uint64String,
    claimDeadline: uint64String,
  })
  .strict()
export type VoucherAwardWire = z.output<typeof voucherAwardWireSchema>

export const voucherWireSchema = z
  .object({
    requester: address,
    provider: address,
    paidThroughSequence: uint64String,
    cumulativeAmount: uintString,
    jobsRoot: bytes32,
  })
  .strict()
export type VoucherWire = z.output<typeof voucherWireSchema>

/** Requester → providers with an offer: a job paid by vouchers of `payment.vault` (not escrowed on JobMarket). */
export const voucherJobMessageSchema = z
  .object({
    type: z.literal('voucher-job'),
    payment: z.object({ kind: z.literal('voucher'), vault: address }).strict(),
    announcement: jobAnnouncementSchema,
  })
  .strict()
export type VoucherJobMessage = z.output<typeof voucherJobMessageSchema>

/** Requester → winner: the signed Award (its job `jobId` is its `sequence` for this pair). */
export const voucherAwardMessageSchema = z
  .object({
    type: z.literal('voucher-award'),
    award: voucherAwardWireSchema,
    signature,
  })
  .strict()
export type VoucherAwardMessage = z.output<typeof voucherAwardMessageSchema>

/** Provider → requester: the job ran; its receipt (by `resultHash`, a CID digest) is served. */
export const voucherResultMessageSchema = z
  .object({
    type: z.literal('voucher-result'),
    jobId: uintString,
    requester: address,
    provider: address,
    sequence: uint64String,
    resultHash: bytes32,
    fuelUsed: uint64String,
  })
  .strict()
export type VoucherResultMessage = z.output<typeof voucherResultMessageSchema>

/** Requester → provider: the cumulative voucher after it verified the results it covers. */
export const voucherMessageSchema = z
  .object({ type: z.literal('voucher'), voucher: voucherWireSchema, signature })
  .strict()
export type VoucherMessage = z.output<typeof voucherMessageSchema>

/**
 * Requester → providers (the court's referee pool): the job of a voucher claim it disputed in the
 * VerificationCourt, so that drawn referees can re-execute it. Nothing here is trusted: a referee
 * checks the announced descriptor against the claim's on-chain specHash and fuel limit, and fetches
 * module and inputs by CID (verified). The claim's provider also serves them, and its claimed
 * receipt, at `providerPeerId`.
 */
export const voucherDisputeMessageSchema = z
  .object({
    type: z.literal('voucher-dispute'),
    claimId: bytes32,
    announcement: jobAnnouncementSchema,
    providerPeerId: z.string().min(1).max(128).optional(),
  })
  .strict()
export type VoucherDisputeMessage = z.output<typeof voucherDisputeMessageSchema>

/** Everything that travels on PROTOCOL_VOUCHER. */
export const voucherStreamMessageSchema = z.discriminatedUnion('type', [
  voucherJobMessageSchema,
  voucherAwardMessageSchema,
  voucherResultMessageSchema,
  voucherMessageSchema,
  voucherDisputeMessageSchema,
])
export type VoucherStreamMessage = z.output<typeof voucherStreamMessageSchema>

export const voucherReplySchema = z
  .object({
    type: z.literal('voucher-reply'),
    accepted: z.boolean(),
    /** A stable refusal reason (VoucherRefusal) when not accepted. */
    code: z.string().max(64).optional(),
    reason: z.string().max(512).optional(),
  })
  .strict()
export type VoucherReply = z.output<typeof voucherReplySchema>

export function awardToWire(a: VoucherAward): VoucherAwardWire {
  return {
    jobId: a.jobId.toString(),
    requester: a.requester,
    provider: a.provider,
    sequence: a.sequence.toString(),
    pricePerFuel: a.pricePerFuel.toString(),
    maxFuel: a.maxFuel.toString(),
    specHash: a.specHash,
    resultDeadline: a.resultDeadline.toString(),
    claimDeadline: a.claimDeadline.toString(),
  }
}

export function awardFromWire(w: VoucherAwardWire): VoucherAward {
  return {
    jobId: BigInt(w.jobId),
    requester: w.requester,
    provider: w.provider,
    sequence: BigInt(w.sequence),
    pricePerFuel: BigInt(w.pricePerFuel),
    maxFuel: BigInt(w.maxFuel),
    specHash: w.specHash,
    resultDeadline: BigInt(w.resultDeadline),
    claimDeadline: BigInt(w.claimDeadline),
  }
}

export function voucherToWire(v: VoucherTerms): VoucherWire {
  return {
    requester: v.requester,
    provider: v.provider,
    paidThroughSequence: v.paidThroughSequence.toString(),
    cumulativeAmount: v.cumulativeAmount.toString(),
    jobsRoot: v.jobsRoot,
  }
}

export function voucherFromWire(w: VoucherWire): VoucherTerms {
  return {
    requester: w.requester,
    provider: w.provider,
    paidThroughSequence: BigInt(w.paidThroughSequence),
    cumulativeAmount: BigInt(w.cumulativeAmount),
    jobsRoot: w.jobsRoot,
  }
}
