import { z } from 'zod'
import { canonicalJson } from './job-descriptor.ts'

/**
 * What a provider commits to on-chain. The `resultHash` a provider reveals is the CID
 * digest of this receipt (canonical JSON), and the receipt names the output by CID, so
 * one hash binds the status, the fuel billed and the output bytes. Everything in it is
 * deterministic: two honest providers running the same job produce the same receipt.
 */
export const resultReceiptSchema = z.discriminatedUnion('status', [
  z
    .object({
      version: z.literal(1),
      jobId: z.string().regex(/^\d+$/),
      status: z.literal('ok'),
      exitCode: z.int(),
      outputCid: z.string().max(128),
      outputBytes: z.int().min(0),
      fuelUsed: z.string().regex(/^\d+$/),
    })
    .strict(),
  z
    .object({
      version: z.literal(1),
      jobId: z.string().regex(/^\d+$/),
      status: z.literal('error'),
      /** A stable ErrorCode such as E_OUT_OF_FUEL. */
      errorCode: z.string().max(64),
      errorMessage: z.string().max(512),
      fuelUsed: z.string().regex(/^\d+$/),
    })
    .strict(),
])
export type ResultReceipt = z.output<typeof resultReceiptSchema>

export function encodeReceipt(receipt: ResultReceipt): Uint8Array {
  return new TextEncoder().encode(canonicalJson(receipt))
}
