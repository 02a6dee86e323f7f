import { isNode, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import { z } from 'zod'
import { BaseError, type BaseErrorOptions, ErrorCode } from './errors.ts'

import { type DockerJobSpec, dockerJobSpecSchema } from './spec-docker.ts'
import {
  fuelAmount,
  jobName,
  sourceRef,
  specDeadlines,
  specEnv,
  specInputs,
  specPrice,
  specVerification,
  specVersion,
  wrongRuntimeField,
} from './spec-fields.ts'

/**
 * The job spec a requester writes (YAML or JSON). Version 1 has two runtimes: `wasm` runs
 * one WASI module, metered in fuel (this file); `docker` runs a command in a container
 * image, billed in core-milliseconds (spec-docker.ts). The output is what the program
 * writes to stdout (or, for docker, one file it leaves under /output). Amounts are token
 * base units (integers), written as strings or integers so YAML never rounds them.
 */
export const wasmJobSpecSchema = z
  .object({
    version: specVersion,
    name: jobName,
    runtime: z.literal('wasm', { error: 'must be "wasm" (a WASI module) or "docker" (a container image)' }),
    module: sourceRef,
    args: z.array(z.string()).max(256).default([]),
    env: specEnv,
    inputs: specInputs,
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
    price: specPrice,
    verification: specVerification,
    deadlines: specDeadlines,
    image: wrongRuntimeField(
      'only docker jobs have an image: set runtime: docker, or give module: { path | cid }',
    ),
    command: wrongRuntimeField('only docker jobs have a command: a wasm job takes module and args'),
    output: wrongRuntimeField("a wasm job's output is always its stdout: remove output"),
  })
  .strict()
  .transform(({ image: _image, command: _command, output: _output, ...spec }) => spec)

/** Either runtime's spec; `runtime` tells which. */
export const jobSpecSchema = z.union([wasmJobSpecSchema, dockerJobSpecSchema])

export type WasmJobSpec = z.output<typeof wasmJobSpecSchema>
export type { DockerJobSpec }
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
  // Pick the runtime's schema by hand rather than through the union, so a spec with a bad
  // `runtime` still has its other fields checked (every problem is reported at once).
  const isDocker =
    typeof data === 'object' && data !== null && (data as Record<string, unknown>).runtime === 'docker'
  const result = (isDocker ? dockerJobSpecSchema : wasmJobSpecSchema).safeParse(data)
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
