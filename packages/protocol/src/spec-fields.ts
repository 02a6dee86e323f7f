import { z } from 'zod'

/**
 * Field schemas shared by every runtime's job spec (spec.ts for wasm, spec-docker.ts for
 * containers), so the same field is validated, and explained, the same way in both.
 */

/** Token base units (integers), as strings or integers so YAML never rounds them through a float. */
export const tokenAmount = z
  .union([
    z.string().regex(/^\d+$/, 'must be a whole number of token base units, e.g. "1000000000"'),
    z.int(),
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value > 0n, 'must be greater than 0')

export const fuelAmount = z
  .union([z.string().regex(/^\d+$/, 'must be a whole number of fuel units'), z.int().positive()])
  .transform((value) => BigInt(value))
  .refine((value) => value > 0n && value < 2n ** 63n, 'must be between 1 and 2^63-1')

export const sourceRef = z.union([
  z.object({ cid: z.string().min(1) }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ text: z.string() }).strict(),
])

export const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name')

/** A plain file name: no directories, no `.` or `..`. */
export const plainFileName = (what: string) =>
  z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, `must be a plain file name (letters, digits, ".", "_", "-"); ${what}`)
    .refine((name) => name !== '.' && name !== '..', 'must be a plain file name, not "." or ".."')

export const specVersion = z.literal(1, { error: 'must be 1 (the only spec version so far)' })

export const jobName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"')
  .optional()

export const specEnv = z.record(envName, z.string()).default({})

export const specInputs = z
  .array(
    z
      .object({
        name: plainFileName('it appears as /input/<name>'),
        path: z.string().min(1).optional(),
        text: z.string().optional(),
        cid: z.string().min(1).optional(),
      })
      .strict()
      .refine(
        (input) => [input.path, input.text, input.cid].filter((v) => v !== undefined).length === 1,
        'give exactly one source: path (a file), text (inline) or cid',
      ),
  )
  .max(64)
  .default([])

export const specPrice = z.object({ maxPerFuel: tokenAmount }).strict()

/**
 * Default audit probability, from the verification Monte Carlo (docs/verification.md): the
 * least that makes cheating a loss with collateral of one full payment when the work costs 60%
 * of its price, at 10% colluding cheaters.
 */
export const DEFAULT_AUDIT_PROBABILITY = 0.35

/** Most replicas a job may ask for (the court takes up to 9; each one is a full execution to pay). */
export const MAX_REPLICAS = 5

export const specVerification = z
  .discriminatedUnion(
    'mode',
    [
      z.object({ mode: z.literal('none') }).strict(),
      z
        .object({
          mode: z.literal('audit'),
          /** Chance that a random staked auditor re-executes the job after its reveal. */
          probability: z
            .number({ error: 'probability must be a number between 0 and 1, e.g. 0.35' })
            .gt(0, { error: 'probability must be above 0 (use mode: none for no audit)' })
            .max(1, { error: 'probability must be at most 1 (1 audits every job)' })
            .default(DEFAULT_AUDIT_PROBABILITY),
        })
        .strict(),
      // The result stands after the market's challenge window unless a staked watcher, having
      // re-executed the job, challenges it with a bond (docs/verification.md).
      z.object({ mode: z.literal('optimistic') }).strict(),
      // k jobs of this spec, each run by a different provider; the court pays agreeing replicas
      // and sends any disagreement to referees. Costs about k times one execution.
      z
        .object({
          mode: z.literal('replicated'),
          k: z
            .int({ error: `k must be a whole number of replicas, 2 to ${MAX_REPLICAS}` })
            .min(2, { error: 'k must be at least 2 (one replica is mode: none)' })
            .max(MAX_REPLICAS, { error: `k must be at most ${MAX_REPLICAS}` })
            .default(2),
        })
        .strict(),
    ],
    { error: 'mode must be "none", "audit", "optimistic" or "replicated"' },
  )
  .default({ mode: 'none' })

export const specDeadlines = z
  .object({
    biddingMs: z.int().min(100).max(600_000).default(1500),
    executionSeconds: z.int().min(10).max(86_400).default(600),
  })
  .strict()
  .default({ biddingMs: 1500, executionSeconds: 600 })

/**
 * A field that belongs to the other runtime: rejected with a message saying what to write
 * instead (a plain "unrecognized key" would not).
 */
export const wrongRuntimeField = (message: string) => z.never({ error: message }).optional()
