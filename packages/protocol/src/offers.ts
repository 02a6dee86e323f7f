import { type Address, type Hex, isAddress, isHex } from 'viem'
import { z } from 'zod'

/**
 * Capacity offers: a provider gossips what it can run and its price floor, signed with its
 * provider key under the market's EIP-712 domain (`marketDomain` in eip712.ts), so an offer
 * is bound to one chain and one market contract. Offers expire and carry a sequence number:
 * a newer offer from the same provider replaces an older one, and a replayed older offer is
 * ignored. The stake in an offer is a claim; requesters check the registry before awarding.
 */

/** Gossip messages larger than this are dropped before parsing. */
export const MAX_OFFER_BYTES = 8 * 1024

export const offerTypes = {
  Offer: [
    { name: 'provider', type: 'address' },
    { name: 'peerId', type: 'string' },
    { name: 'cores', type: 'uint32' },
    { name: 'memoryMb', type: 'uint32' },
    { name: 'gpus', type: 'Gpu[]' },
    { name: 'runtimes', type: 'string[]' },
    { name: 'floorPricePerFuel', type: 'uint256' },
    { name: 'stake', type: 'uint256' },
    { name: 'region', type: 'string' },
    { name: 'attributes', type: 'Attribute[]' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
  Gpu: [
    { name: 'model', type: 'string' },
    { name: 'memoryMb', type: 'uint32' },
  ],
  Attribute: [
    { name: 'key', type: 'string' },
    { name: 'value', type: 'string' },
  ],
} as const

export interface OfferGpu {
  /** Free text as reported by the provider, e.g. "NVIDIA A100"; matched case-insensitively. */
  model: string
  memoryMb: number
}

export interface OfferAttribute {
  key: string
  value: string
}

/** The signed fields of an offer, with integers as bigint (the EIP-712 message). */
export interface OfferMessage {
  provider: Address
  peerId: string
  cores: number
  memoryMb: number
  gpus: readonly OfferGpu[]
  runtimes: readonly string[]
  /** Lowest price per fuel unit, token base units. */
  floorPricePerFuel: bigint
  /** Stake the provider claims to hold in the registry, token base units. */
  stake: bigint
  /** Free-form region label, e.g. "eu-west"; empty when not given. */
  region: string
  /** Extra key/value labels (unique keys), e.g. {key: "tee", value: "sgx"}. */
  attributes: readonly OfferAttribute[]
  /** Unix seconds. */
  issuedAt: bigint
  /** Unix seconds after which the offer is void. */
  expiry: bigint
  /** Increases with every new offer from this provider. */
  sequence: bigint
}

export interface SignedOffer extends OfferMessage {
  signature: Hex
}

const uintString = z.string().regex(/^\d{1,78}$/, 'must be a decimal integer string')
const uint64String = z.string().regex(/^\d{1,20}$/, 'must be a decimal integer string')
const address = z.string().refine(isAddress, 'must be a 0x address') as unknown as z.ZodType<Address>
const hex = z
  .string()
  .refine((v) => isHex(v, { strict: true }), 'must be 0x hex') as unknown as z.ZodType<Hex>
const uint32 = z.int().min(0).max(0xffff_ffff)
const label = z.string().min(1).max(64)

export const offerWireSchema = z
  .object({
    type: z.literal('offer'),
    chainId: z.int().positive(),
    market: address,
    provider: address,
    peerId: z.string().min(1).max(128),
    cores: uint32.min(1),
    memoryMb: uint32.min(1),
    gpus: z.array(z.object({ model: label, memoryMb: uint32 }).strict()).max(16),
    runtimes: z.array(z.string().min(1).max(32)).min(1).max(16),
    floorPricePerFuel: uintString,
    stake: uintString,
    region: z.string().max(64),
    attributes: z
      .array(z.object({ key: label, value: z.string().max(256) }).strict())
      .max(32)
      .refine(
        (list) => new Set(list.map((a) => a.key)).size === list.length,
        'attribute keys must be unique',
      ),
    issuedAt: uint64String,
    expiry: uint64String,
    sequence: uint64String,
    signature: hex,
  })
  .strict()
  .refine((o) => BigInt(o.expiry) > BigInt(o.issuedAt), 'expiry must be after issuedAt')
export type OfferWire = z.output<typeof offerWireSchema>

/** A validated wire offer as typed values; `chainId` and `market` name the signing domain. */
export function offerFromWire(wire: OfferWire): SignedOffer & { chainId: number; market: Address } {
  return {
    chainId: wire.chainId,
    market: wire.market,
    provider: wire.provider,
    peerId: wire.peerId,
    cores: wire.cores,
    memoryMb: wire.memoryMb,
    gpus: wire.gpus.map((g) => ({ model: g.model, memoryMb: g.memoryMb })),
    runtimes: [...wire.runtimes],
    floorPricePerFuel: BigInt(wire.floorPricePerFuel),
    stake: BigInt(wire.stake),
    region: wire.region,
    attributes: wire.attributes.map((a) => ({ key: a.key, value: a.value })),
    issuedAt: BigInt(wire.issuedAt),
    expiry: BigInt(wire.expiry),
    sequence: BigInt(wire.sequence),
    signature: wire.signature,
  }
}

export function offerToWire(offer: SignedOffer, chainId: number, market: Address): OfferWire {
  return {
    type: 'offer',
    chainId,
    market,
    provider: offer.provider,
    peerId: offer.peerId,
    cores: offer.cores,
    memoryMb: offer.memoryMb,
    gpus: offer.gpus.map((g) => ({ model: g.model, memoryMb: g.memoryMb })),
    runtimes: [...offer.runtimes],
    floorPricePerFuel: offer.floorPricePerFuel.toString(),
    stake: offer.stake.toString(),
    region: offer.region,
    attributes: offer.attributes.map((a) => ({ key: a.key, value: a.value })),
    issuedAt: offer.issuedAt.toString(),
    expiry: offer.expiry.toString(),
    sequence: offer.sequence.toString(),
    signature: offer.signature,
  }
}

/** The EIP-712 message of an offer: exactly the signed fields, nothing else. */
export function offerTypedMessage(offer: OfferMessage): {
  provider: Address
  peerId: string
  cores: number
  memoryMb: number
  gpus: OfferGpu[]
  runtimes: string[]
  floorPricePerFuel: bigint
  stake: bigint
  region: string
  attributes: OfferAttribute[]
  issuedAt: bigint
  expiry: bigint
  sequence: bigint
} {
  return {
    provider: offer.provider,
    peerId: offer.peerId,
    cores: offer.cores,
    memoryMb: offer.memoryMb,
    gpus: offer.gpus.map((g) => ({ model: g.model, memoryMb: g.memoryMb })),
    runtimes: [...offer.runtimes],
    floorPricePerFuel: offer.floorPricePerFuel,
    stake: offer.stake,
    region: offer.region,
    attributes: offer.attributes.map((a) => ({ key: a.key, value: a.value })),
    issuedAt: offer.issuedAt,
    expiry: offer.expiry,
    sequence: offer.sequence,
  }
}
