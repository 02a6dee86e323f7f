import { isNode, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import { z } from 'zod'
import { BaseError, type BaseErrorOptions, ErrorCode } from './errors.ts'

/**
 * The job spec a requester writes (YAML or JSON). Version 1 runs one WASI module; its
 * output is what the module writes to stdout. Amounts are token base units (integers),
 * written as strings or integers so YAML never rounds them through a float.
 */
const tokenAmount = z
  .union([
    z.string().regex(/^\d+$/, 'must be a whole number of token base units, e.g. "1000000000"'),
    z.int(),
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value > 0n, 'must be greater than 0')

const fuelAmount = z
  .union([z.string().regex(/^\d+$/, 'must be a whole number of fuel units'), z.int().positive()])
  .transform((value) => BigInt(value))
  .refine((value) => value > 0n && value < 2n ** 63n, 'must be between 1 and 2^63-1')

const sourceRef = z.union([
  z.object({ cid: z.string().min(1) }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ text: z.string() }).strict(),
])

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name')

export const jobSpecSchema = z
  .object({
    version: z.literal(1, { error: 'must be 1 (the only spec version so far)' }),
    name: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"')
      .optional(),
    runtime: z.literal('wasm', { error: 'must be "wasm" (containers come later)' }),
    module: sourceRef,
    args: z.array(z.string()).max(256).default([]),
    env: z.record(envName, z.string()).default({}),
    inputs: z
      .array(
        z
          .object({
            name: z
              .string()
              .regex(
                /^[a-zA-Z0-9._-]+$/,
                'must be a plain file name; it appears as /input/<name> in the sandbox',
              )
              .refine((name) => name !== '.' && name !== '..', 'must be a plain file name'),
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
      .default([]),
    resources: z
      .object({
        cores: z.int().min(1).max(256).default(1),
        memoryMb: z.int().min(1).max(4096).default(64),
      })
      .strict()
      .default({ cores: 1, memoryMb: 64 }),
    limits: z
      .object({
        fuel: fuelAmount,
        timeoutMs: z.int().min(100).max(3_600_000).default(60_000),
        outputBytes: z
          .int()
          .min(1)
          .max(64 * 1024 * 1024)
          .default(16 * 1024 * 1024),
      })
      .strict(),
    price: z.object({ maxPerFuel: tokenAmount }).strict(),
    verification: z
      .object({ mode: z.literal('none', { error: 'only "none" is available so far' }) })
      .strict()
      .default({ mode: 'none' }),
    deadlines: z
      .object({
        biddingMs: z.int().min(100).max(600_000).default(1500),
        executionSeconds: z.int().min(10).max(86_400).default(600),
      })
      .strict()
      .default({ biddingMs: 1500, executionSeconds: 600 }),
  })
  .strict()

export type JobSpec = z.output<typeof jobSpecSchema>
export type JobSpecInput = z.input<typeof jobSpecSchema>
export type SourceRef = z.output<typeof sourceRef>

export interface SpecIssue {
  /** Dotted field path, e.g. `limits.fuel`. */
  field: string
  message: string
  /** 1-based line and column in the source text, when known. */
  line?: number
  column?: number
}

export class InvalidSpecError extends BaseError {
  override name = 'InvalidSpecError' as const
  readonly issues: SpecIssue[]
  constructor(source: string, issues: SpecIssue[], options: BaseErrorOptions = {}) {
    const lines = issues.map((issue) => {
      const where = issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`
      return `  ${source}${where} ${issue.field || '(root)'}: ${issue.message}`
    })
    super(ErrorCode.InvalidSpec, `invalid job spec ${source}\n${lines.join('\n')}`, {
      hint: options.hint ?? 'fix the fields above; see docs/job-spec.md for every field and an example',
      details: { issues },
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    })
    this.issues = issues
  }
}

/**
 * Parses a YAML or JSON job spec (JSON is YAML) and validates it. Every problem is
 * reported at once, each with its field path and source line, in one InvalidSpecError.
 */
export function parseJobSpec(text: string, source = '<spec>'): JobSpec {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new InvalidSpecError(
      source,
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0])
        return {
          field: '',
          message: `YAML syntax: ${error.message.split('\n')[0]}`,
          line: pos.line,
          column: pos.col,
        }
      }),
    )
  }
  const data: unknown = doc.toJS({ maxAliasCount: 50 })
  return validateJobSpec(data, source, (path) => {
    const node = doc.getIn(path, true)
    const range = isNode(node) ? (node as YamlNode).range : undefined
    if (!range) return undefined
    const pos = lineCounter.linePos(range[0])
    return { line: pos.line, column: pos.col }
  })
}

/** Validates an already-parsed spec object (SDK callers). */
export function validateJobSpec(
  data: unknown,
  source = '<spec>',
  locate: (path: (string | number)[]) => { line: number; column: number } | undefined = () => undefined,
): JobSpec {
  const result = jobSpecSchema.safeParse(data)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue): SpecIssue => {
    const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol')
    // Point at the deepest node that exists: a missing field is reported at its parent.
    let position: { line: number; column: number } | undefined
    for (let depth = path.length; depth >= 0 && !position; depth--) position = locate(path.slice(0, depth))
    return { field: path.join('.'), message: issue.message, ...position }
  })
  throw new InvalidSpecError(source, issues)
}
