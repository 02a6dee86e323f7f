import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { z } from 'zod'

/** A config file or flag that is missing, unreadable or invalid; the message names the field. */
export class NodeConfigError extends BaseError {
  override name = 'NodeConfigError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.InvalidMessage, message, options)
  }
}

export const NODE_ROLES = ['provider', 'requester', 'both'] as const
export type NodeRole = (typeof NODE_ROLES)[number]

const baseUnits = z
  .union([z.string(), z.number().int(), z.bigint()])
  .transform((v) => String(v))
  .refine((v) => /^\d+$/.test(v), 'must be a whole number of token base units, e.g. "1000000000"')
  .transform((v) => BigInt(v))

const multiaddrText = z
  .string()
  .refine((v) => v.startsWith('/'), 'must be a multiaddr such as /ip4/127.0.0.1/tcp/0')

/** What a config file may hold: every field optional, flags fill or override them. */
export const nodeConfigFileSchema = z
  .object({
    role: z.enum(NODE_ROLES),
    rpcUrl: z.url(),
    deployment: z.string().min(1),
    keystore: z.string().min(1),
    dataDir: z.string().min(1),
    listen: z.array(multiaddrText),
    bootstrap: z.array(multiaddrText),
    api: z
      .object({
        port: z.number().int().min(0).max(65_535),
        host: z.string().min(1),
      })
      .partial()
      .strict(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    provider: z
      .object({
        /** Floor price per fuel unit, in token base units. */
        price: baseUnits,
        /** Floor price per core-millisecond of a container job (its fuel unit), in base units. */
        dockerPrice: baseUnits,
        /** Offer `runtime: docker` when a Docker daemon answers (default true). */
        docker: z.boolean(),
        /** Percent the ask rises at full utilization (100 = twice the floor). */
        utilizationMarkupPercent: z.number().int().min(0).max(10_000),
        /** Cores and memory to offer; at most what the machine has (default: all of it). */
        cores: z.number().int().positive(),
        memoryMb: z.number().int().positive(),
        /**
         * Spot pricing: ask near the market's recent median clearing price for the job's class
         * when that is above the floor (`false` turns it off). Default 95% of the median once
         * the class has 5 awards in the index.
         */
        spot: z.union([
          z.literal(false),
          z
            .object({
              percentOfMedian: z.number().int().min(0).max(10_000),
              minSamples: z.number().int().min(1),
            })
            .strict(),
        ]),
        /**
         * Payment collection: how often revealed jobs are checked, and how long past the
         * challenge window the requester gets to finalize before this provider does it itself.
         */
        collect: z
          .object({
            intervalSeconds: z.number().int().min(1).max(86_400),
            graceSeconds: z
              .number()
              .int()
              .min(0)
              .max(7 * 86_400),
          })
          .partial()
          .strict(),
        /**
         * Hours a job stays settled on-chain (finalized, or reclaimed) before its output and
         * receipt are deleted; 0 keeps them forever (docs/reliability.md).
         */
        blobRetentionHours: z
          .number()
          .int()
          .min(0)
          .max(10 * 365 * 24),
      })
      .partial()
      .strict(),
    requester: z
      .object({
        maxAnnouncements: z.number().int().min(1).max(100),
        /** How jobs are paid (docs/vouchers.md): per job on JobMarket, or by VoucherVault vouchers. */
        payment: z.enum(['onchain', 'voucher']),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict()

export type NodeConfigFile = z.infer<typeof nodeConfigFileSchema>

/** The daemon's configuration once file and flags are merged and defaults applied. */
export interface NodeConfig {
  role: NodeRole
  rpcUrl: string
  /** Absolute path of the deployment file (contract addresses). */
  deployment: string
  /** Absolute path of the encrypted keystore holding the node's account key. */
  keystore: string
  dataDir: string
  listen: string[]
  bootstrap: string[]
  api: { port: number; host: string }
  logLevel: string
  provider: {
    price: bigint
    dockerPrice: bigint
    /** False: never offer containers, even with a Docker daemon. */
    docker: boolean
    utilizationMarkupPercent: number
    cores?: number
    memoryMb?: number
    /** Absent when spot pricing is off. */
    spot?: { percentOfMedian: number; minSamples: number }
    collect: { intervalSeconds: number; graceSeconds: number }
    /** 0: blobs are kept forever. */
    blobRetentionHours: number
  }
  requester: { maxAnnouncements?: number; payment: 'onchain' | 'voucher' }
}

/** Defaults shared by the CLI: one place, so `--help` and the daemon agree. */
export const NODE_DEFAULTS = {
  rpcUrl: 'http://127.0.0.1:8545',
  listen: ['/ip4/127.0.0.1/tcp/0'],
  apiPort: 8080,
  apiHost: '127.0.0.1',
  logLevel: 'info',
  /** 1 gwei of BZR per fuel unit: the low end of what local demo providers ask. */
  price: 1_000_000_000n,
  /**
   * Per core-millisecond of a container: a million times the WASM floor, about what a core
   * does in WASM fuel per millisecond (docs/execution.md).
   */
  dockerPrice: 1_000_000_000_000_000n,
  utilizationMarkupPercent: 100,
  /** Follow the market a little below its median, once a class has enough awards to trust. */
  spot: { percentOfMedian: 95, minSamples: 5 },
  /** A vanished requester's jobs are finalized by the provider a minute after the window. */
  collect: { intervalSeconds: 30, graceSeconds: 60 },
  /** A day after a job is settled its output and receipt are deleted. */
  blobRetentionHours: 24,
} as const

/** Where keys and node data live unless told otherwise: $BAZAAR_HOME or ~/.bazaar. */
export function bazaarHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.BAZAAR_HOME ? resolve(env.BAZAAR_HOME) : join(homedir(), '.bazaar')
}

/** Reads and validates a YAML (or JSON) config file; relative paths in it are relative to the file. */
export async function loadNodeConfigFile(path: string): Promise<NodeConfigFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new NodeConfigError(`cannot read config file ${path}`, {
      cause,
      hint: 'check the --config path; see docs/cli.md for an example bazaar.yaml',
    })
  }
  let raw: unknown
  try {
    raw = parseYaml(text) ?? {}
  } catch (cause) {
    const line = cause instanceof YAMLParseError ? cause.linePos?.[0]?.line : undefined
    throw new NodeConfigError(`config file ${path}${line ? ` line ${line}` : ''} is not valid YAML`, {
      cause,
    })
  }
  const file = parseNodeConfigFile(raw, path)
  const base = dirname(resolve(path))
  const rel = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p))
  return {
    ...file,
    ...(file.deployment ? { deployment: rel(file.deployment)! } : {}),
    ...(file.keystore ? { keystore: rel(file.keystore)! } : {}),
    ...(file.dataDir ? { dataDir: rel(file.dataDir)! } : {}),
  }
}

/** Validates a parsed config object; the error names the first bad field (`provider.price`). */
export function parseNodeConfigFile(raw: unknown, source: string): NodeConfigFile {
  const parsed = nodeConfigFileSchema.safeParse(raw)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
  throw new NodeConfigError(`${source}: ${issues[0]}`, {
    details: { issues },
    hint:
      parsed.error.issues[0]?.code === 'unrecognized_keys'
        ? `known fields: ${Object.keys(nodeConfigFileSchema.shape).join(', ')}`
        : 'fix the field, or override it with the matching flag',
  })
}

/**
 * Merges the config file and the flags (flags win), applies defaults and checks what is
 * required. `flags` uses the config file's field names.
 */
export function resolveNodeConfig(
  file: NodeConfigFile,
  flags: NodeConfigFile,
  env: NodeJS.ProcessEnv = process.env,
): NodeConfig {
  const merged = parseNodeConfigFile(
    {
      ...file,
      ...flags,
      api: { ...file.api, ...flags.api },
      provider: { ...file.provider, ...flags.provider },
      requester: { ...file.requester, ...flags.requester },
    },
    'flags',
  )
  if (!merged.role) {
    throw new NodeConfigError('role: required (provider, requester or both)', {
      hint: 'pass --role provider|requester|both or set `role:` in the config file',
    })
  }
  if (!merged.deployment) {
    throw new NodeConfigError('deployment: required (the deployment file with the contract addresses)', {
      hint: '`bazaar devnet` and `bazaar contracts deploy` print the path of the file they write; pass it with --deployment',
    })
  }
  const home = bazaarHome(env)
  return {
    role: merged.role,
    rpcUrl: merged.rpcUrl ?? NODE_DEFAULTS.rpcUrl,
    deployment: resolve(merged.deployment),
    keystore: resolve(merged.keystore ?? join(home, 'keystore.json')),
    dataDir: resolve(merged.dataDir ?? join(home, 'node')),
    listen: merged.listen ?? [...NODE_DEFAULTS.listen],
    bootstrap: merged.bootstrap ?? [],
    api: {
      port: merged.api?.port ?? NODE_DEFAULTS.apiPort,
      host: merged.api?.host ?? NODE_DEFAULTS.apiHost,
    },
    logLevel: merged.logLevel ?? NODE_DEFAULTS.logLevel,
    provider: {
      price: merged.provider?.price ?? NODE_DEFAULTS.price,
      dockerPrice: merged.provider?.dockerPrice ?? NODE_DEFAULTS.dockerPrice,
      docker: merged.provider?.docker ?? true,
      utilizationMarkupPercent:
        merged.provider?.utilizationMarkupPercent ?? NODE_DEFAULTS.utilizationMarkupPercent,
      ...(merged.provider?.cores ? { cores: merged.provider.cores } : {}),
      ...(merged.provider?.memoryMb ? { memoryMb: merged.provider.memoryMb } : {}),
      ...(merged.provider?.spot === false
        ? {}
        : { spot: merged.provider?.spot ?? { ...NODE_DEFAULTS.spot } }),
      collect: { ...NODE_DEFAULTS.collect, ...merged.provider?.collect },
      blobRetentionHours: merged.provider?.blobRetentionHours ?? NODE_DEFAULTS.blobRetentionHours,
    },
    requester: {
      ...(merged.requester?.maxAnnouncements ? { maxAnnouncements: merged.requester.maxAnnouncements } : {}),
      payment: merged.requester?.payment ?? 'onchain',
    },
  }
}
