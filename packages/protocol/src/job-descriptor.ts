import { type Hex, keccak256, stringToBytes } from 'viem'
import { z } from 'zod'

/**
 * A job as the market sees it: the spec with every file replaced by its CID. This is what
 * is gossiped, what providers evaluate, and (hashed) what the contract records as
 * `specHash`, so a provider can check that the announced job is the one it is paid for.
 */
export const jobDescriptorSchema = z
  .object({
    name: z.string().max(64),
    runtime: z.literal('wasm'),
    moduleCid: z.string().min(1).max(128),
    args: z.array(z.string().max(4096)).max(256),
    env: z.record(z.string().max(256), z.string().max(4096)),
    inputs: z
      .array(z.object({ path: z.string().max(255), cid: z.string().max(128), size: z.int().min(0) }).strict())
      .max(64),
    resources: z.object({ cores: z.int().min(1), memoryMb: z.int().min(1) }).strict(),
    limits: z
      .object({
        fuel: z.string().regex(/^\d+$/),
        timeoutMs: z.int().min(1),
        outputBytes: z.int().min(1),
      })
      .strict(),
    maxPricePerFuel: z.string().regex(/^\d+$/),
    verification: z.object({ mode: z.literal('none') }).strict(),
  })
  .strict()

export type JobDescriptor = z.output<typeof jobDescriptorSchema>

/** Canonical JSON: object keys sorted at every depth, so equal descriptors hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      )
    }
    return v
  })
}

/** The `specHash` recorded on-chain for a job. */
export function hashJobDescriptor(job: JobDescriptor): Hex {
  return keccak256(stringToBytes(canonicalJson(job)))
}
