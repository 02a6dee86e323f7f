import { z } from 'zod'
import { canonicalJson } from './job-descriptor.ts'

/**
 * What a provider commits to on-chain. The `resultHash` a provider reveals is the CID
 * digest of this receipt (canonical JSON), and the receipt names the output by CID, so
 * one hash binds the status, the fuel billed and the output bytes. Everything in it is
 * deterministic: two honest providers running the same job produce the same receipt.
 *
 * Version 1 names the on-chain job id (and the job's WASI seed is that id). Version 2 is the
 * receipt of a replicated job (docs/verification.md): the k replicas are k JobMarket jobs with
 * different ids, so it names the spec hash instead (unique to the replica group, whose
 * descriptor carries a random nonce) and the seed is the spec hash too; honest replicas then
 * reveal the same result hash.
 */
const digits = z.string().regex(/^\d+$/)
const ok = {
  status: z.literal('ok'),
  exitCode: z.int(),
  outputCid: z.string().max(128),
  outputBytes: z.int().min(0),
  fuelUsed: digits,
}
const failed = {
  status: z.literal('error'),
  /** A stable ErrorCode such as E_OUT_OF_FUEL. */
  errorCode: z.string().max(64),
  errorMessage: z.string().max(512),
  fuelUsed: digits,
}
const byJob = { version: z.literal(1), jobId: digits }
const bySpec = {
  version: z.literal(2),
  specHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  // Absent (declared so `receipt.jobId` reads as undefined on either version).
  jobId: z.undefined().optional(),
}

export const resultReceiptSchema = z.union([
  z.object({ ...byJob, ...ok }).strict(),
  z.object({ ...byJob, ...failed }).strict(),
  z.object({ ...bySpec, ...ok }).strict(),
  z.object({ ...bySpec, ...failed }).strict(),
])
export type ResultReceipt = z.output<typeof resultReceiptSchema>

/** Who a receipt is for: a job id (version 1) or a replica group's spec hash (version 2). */
export type ReceiptSubject = { version: 1; jobId: string } | { version: 2; specHash: string }

export function encodeReceipt(receipt: ResultReceipt): Uint8Array {
  return new TextEncoder().encode(canonicalJson(receipt))
}

/** Whether `receipt` is for this job: its id, or for a replicated job its spec hash. */
export function receiptIsFor(receipt: ResultReceipt, job: { jobId: string; specHash: string }): boolean {
  return receipt.version === 2 ? receipt.specHash === job.specHash.toLowerCase() : receipt.jobId === job.jobId
}
