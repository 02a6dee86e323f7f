import { type Hex, keccak256, stringToBytes } from 'viem'
import { z } from 'zod'

const inputsField = z
  .array(z.object({ path: z.string().max(255), cid: z.string().max(128), size: z.int().min(0) }).strict())
  .max(64)
const resourcesField = z.object({ cores: z.int().min(1), memoryMb: z.int().min(1) }).strict()
const verificationField = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }).strict(),
  z.object({ mode: z.literal('audit'), probability: z.number().gt(0).max(1) }).strict(),
  z.object({ mode: z.literal('optimistic') }).strict(),
  // `nonce` (random, per submission) makes the spec hash, and so the replicas' WASI seed and
  // receipts (receipt.ts, version 2), unique to this replica group.
  z
    .object({
      mode: z.literal('replicated'),
      k: z.int().min(2).max(9),
      nonce: z.string().regex(/^0x[0-9a-f]{64}$/),
    })
    .strict(),
])
const decimal = z.string().regex(/^\d+$/)

/**
 * A job as the market sees it: the spec with every file replaced by its CID. This is what
 * is gossiped, what providers evaluate, and (hashed) what the contract records as
 * `specHash`, so a provider can check that the announced job is the one it is paid for.
 * A wasm descriptor has exactly the fields it had before containers existed, so its hash
 * is unchanged.
 */
export const wasmJobDescriptorSchema = z
  .object({
    name: z.string().max(64),
    runtime: z.literal('wasm'),
    moduleCid: z.string().min(1).max(128),
    args: z.array(z.string().max(4096)).max(256),
    env: z.record(z.string().max(256), z.string().max(4096)),
    inputs: inputsField,
    resources: resourcesField,
    limits: z.object({ fuel: decimal, timeoutMs: z.int().min(1), outputBytes: z.int().min(1) }).strict(),
    maxPricePerFuel: decimal,
    verification: verificationField,
  })
  .strict()

/**
 * A container job (docs/job-spec.md, "Containers"). `limits.fuel` is not chosen by the
 * requester: it must equal timeoutMs x cores (core-milliseconds), the most a container
 * job can be billed, so escrow and payment stay fuel x price.
 */
export const dockerJobDescriptorSchema = z
  .object({
    name: z.string().max(64),
    runtime: z.literal('docker'),
    /** A root file system tarball, imported by the provider (`docker import`). */
    imageCid: z.string().min(1).max(128),
    command: z.array(z.string().max(4096)).min(1).max(256),
    env: z.record(z.string().max(256), z.string().max(4096)),
    inputs: inputsField,
    /** Where the job's output comes from: stdout, or one file under /output. */
    output: z.union([z.literal('stdout'), z.object({ file: z.string().min(1).max(255) }).strict()]),
    resources: resourcesField,
    limits: z
      .object({
        fuel: decimal,
        timeoutMs: z.int().min(1),
        outputBytes: z.int().min(1),
        pids: z.int().min(1),
      })
      .strict(),
    maxPricePerFuel: decimal,
    verification: verificationField,
  })
  .strict()
  .refine((job) => BigInt(job.limits.fuel) === BigInt(job.limits.timeoutMs) * BigInt(job.resources.cores), {
    message: 'limits.fuel of a docker job must be timeoutMs x cores',
    path: ['limits', 'fuel'],
  })

export const jobDescriptorSchema = z.union([wasmJobDescriptorSchema, dockerJobDescriptorSchema])

export type WasmJobDescriptor = z.output<typeof wasmJobDescriptorSchema>
export type DockerJobDescriptor = z.output<typeof dockerJobDescriptorSchema>
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
