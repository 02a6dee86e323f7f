import { readFileSync } from 'node:fs'
import type { BazaarContracts } from '@bazaar/chain'
import {
  BaseError,
  ErrorCode,
  InvalidSpecError,
  MAX_DATA_BYTES,
  parseJobSpec,
  validateJobSpec,
} from '@bazaar/protocol'
import { type ServerType, serve } from '@hono/node-server'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { streamSSE } from 'hono/streaming'
import type { Logger } from 'pino'
import { type Address, getAddress, isAddress } from 'viem'
import type { ContentStore } from '../content-store.ts'
import type { MarketChain } from '../market-chain.ts'
import type { NetworkServices } from '../network-services.ts'
import { PROVIDER_JOB_PHASES } from '../provider/provider-job-records.ts'
import type { ProviderService } from '../provider/provider-service.ts'
import type { JobTracker, TrackedJob } from '../requester/job-tracker.ts'
import { prepareJob } from '../requester/prepare-job.ts'
import type { RequesterService } from '../requester/requester-service.ts'
import {
  paymentOf,
  type SettledVoucherJobView,
  settleVoucherJobView,
  type VoucherJobView,
} from '../vouchers/voucher-job-view.ts'
import type { VoucherProvider } from '../vouchers/voucher-provider.ts'
import type { VoucherRequester } from '../vouchers/voucher-requester.ts'
import { jsonSafe } from './json-safe.ts'
import { createApiMetrics } from './metrics.ts'
import { providerStats, voucherPairs } from './provider-stats.ts'
import { memoizedChannels, type VaultChannelReader, vaultChannelReader } from './vault-channels.ts'

/**
 * On-chain reads about providers (any signer will do: they never send). With `readOther`, the
 * vault is read too, to tell redeemed vouchers from unredeemed ones.
 */
export type RegistryReader = Pick<BazaarContracts, 'accountOf' | 'reputationOf' | 'registryParameters'> &
  Partial<Pick<BazaarContracts, 'readOther'>>

export interface HttpApiComponents {
  /** What this node does; shown by /v1/node and the dashboard. */
  role?: 'provider' | 'requester' | 'both'
  /** The requester role's job tracker and service; without them the job routes answer 409. */
  tracker?: JobTracker | undefined
  requester?: RequesterService | undefined
  /** The provider role, for /v1/provider/jobs. */
  provider?: ProviderService | undefined
  /** Stake buckets and reputation of providers, for /v1/providers and the dashboard. */
  registry?: RegistryReader
  store: ContentStore
  chain: MarketChain
  network: NetworkServices
  logger: Logger
  /** Token balance of this node's account. */
  balance: () => Promise<bigint>
  /** A provider's stake in the registry. */
  stakeOf: (provider: Address) => Promise<bigint>
  /**
   * The voucher path's sides (docs/vouchers.md): voucher details of jobs, and their metrics.
   * `channels` reads the vault's counters of a pair (redeemed or not); default: through
   * `registry.readOther` when the registry has it.
   */
  vouchers?: { requester?: VoucherRequester; provider?: VoucherProvider; channels?: VaultChannelReader }
}

export interface HttpApi {
  url: string
  close(): Promise<void>
}

/** A route of a role this node does not play (e.g. submitting a job to a provider-only node). */
export class RoleNotEnabledError extends BaseError {
  override name = 'RoleNotEnabledError' as const
}

const statusOf = (err: BaseError): 400 | 404 | 409 | 500 =>
  err.name === 'RoleNotEnabledError' || err.name === 'JobNotCancellableError'
    ? 409
    : err.code === ErrorCode.InvalidSpec || err.code === ErrorCode.InvalidMessage
      ? 400
      : err.code === ErrorCode.NotFound
        ? 404
        : 500

function summary(job: TrackedJob, voucher: SettledVoucherJobView | undefined) {
  const payment = paymentOf(job.id)
  return jsonSafe({
    id: job.id,
    name: job.name,
    state: job.state,
    submittedAt: job.submittedAt,
    // How the job is paid: its own JobMarket escrow, or vouchers (docs/vouchers.md).
    payment,
    ...(voucher ? { voucher } : {}),
    provider: job.outcome?.provider,
    pricePerFuel: job.outcome?.pricePerFuel,
    fuelUsed: job.outcome?.fuelUsed,
    paid: job.outcome?.paid,
    refunded: job.outcome?.refunded,
    escrow: job.outcome?.escrow,
    gasUsed: job.outcome?.gasUsed,
    bidsReceived: job.outcome?.bidsReceived,
    // An ended job read back from the database has its output in the content store only.
    outputBytes:
      job.outcome?.output?.length ??
      (job.outcome?.receipt?.status === 'ok' ? job.outcome.receipt.outputBytes : undefined),
    receipt: job.outcome?.receipt,
    error: job.error,
  })
}

/** The node's HTTP API (documented in docs/openapi.yaml). Listens on 127.0.0.1 by default. */
export function createHttpApp(c: HttpApiComponents): Hono {
  const app = new Hono()
  const metrics = createApiMetrics({
    ...(c.tracker ? { tracker: c.tracker } : {}),
    ...(c.provider ? { provider: c.provider } : {}),
    balance: c.balance,
    misbehaviour: () => c.network.misbehaviour(),
    ...(c.vouchers ? { vouchers: c.vouchers } : {}),
    info: () => ({
      role: c.role ?? (c.provider ? (c.requester ? 'both' : 'provider') : 'requester'),
      address: c.chain.address,
      peer_id: c.network.peerId,
    }),
  })

  const voucherRequester = c.vouchers?.requester
  const describe = voucherRequester
    ? (id: string): VoucherJobView | undefined => voucherRequester.describe(id)
    : undefined
  const readChannel =
    c.vouchers?.channels ??
    (c.registry?.readOther ? vaultChannelReader(c.registry as Pick<BazaarContracts, 'readOther'>) : undefined)
  /** Reads of the vault for one answer (each pair once); `undefined` channel: unknown. */
  const channelsForRequest = () => memoizedChannels(readChannel)
  /**
   * A job as the API shows it. A voucher job's `voucher` section says where its payment stands
   * on-chain (redeemed, claimed, or only vouchered), read from the vault at request time.
   */
  const view = async (job: TrackedJob, channels = channelsForRequest()) => {
    const details = paymentOf(job.id) === 'voucher' ? describe?.(job.id) : undefined
    const voucher =
      details && voucherRequester
        ? settleVoucherJobView(
            details,
            await channels(details.vault, voucherRequester.address, details.provider),
          )
        : undefined
    return summary(job, voucher)
  }
  const views = (jobs: TrackedJob[]) => {
    const channels = channelsForRequest()
    return Promise.all(jobs.map((job) => view(job, channels)))
  }

  app.onError((err, ctx) => {
    if (err instanceof BaseError) {
      return ctx.json(
        { error: { ...err.toJSON(), ...(err instanceof InvalidSpecError ? { issues: err.issues } : {}) } },
        statusOf(err),
      )
    }
    // Hono's own refusals (a body over its limit: 413) keep their status and get a typed body.
    if (err instanceof HTTPException && err.status < 500) {
      const tooLarge = err.status === 413
      return ctx.json(
        {
          error: {
            code: ErrorCode.InvalidMessage,
            message: tooLarge ? 'request body too large' : err.message || 'bad request',
            ...(tooLarge
              ? {
                  hint: 'job specs and explain requests are limited to 1 MiB; upload data with POST /v1/blobs',
                }
              : {}),
          },
        },
        err.status,
      )
    }
    c.logger.error({ err }, 'api request failed')
    return ctx.json({ error: { code: ErrorCode.Internal, message: 'internal error' } }, 500)
  })
  app.notFound((ctx) =>
    ctx.json(
      {
        error: {
          code: ErrorCode.NotFound,
          message: `no route ${ctx.req.method} ${ctx.req.path}`,
          hint: 'see docs/openapi.yaml',
        },
      },
      404,
    ),
  )

  app.get('/v1/health', (ctx) => ctx.json({ ok: true }))

  app.get('/', (ctx) => ctx.html(dashboardHtml()))

  const requesterRole = (): { tracker: JobTracker; requester: RequesterService } => {
    if (!c.tracker || !c.requester) {
      throw new RoleNotEnabledError(ErrorCode.InvalidMessage, 'this node is not a requester', {
        hint: 'submit jobs to a node started with --role requester or --role both',
      })
    }
    return { tracker: c.tracker, requester: c.requester }
  }

  /** On-chain standing of one provider: stake buckets, jail, reputation counters and score. */
  const standing = async (address: Address) => {
    if (!c.registry) return { stake: await c.stakeOf(address) }
    const [account, reputation] = await Promise.all([
      c.registry.accountOf(address),
      c.registry.reputationOf(address),
    ])
    const now = BigInt(Math.floor(Date.now() / 1000))
    return {
      stake: account.staked,
      locked: account.locked,
      unbonding: account.unbonding,
      unbondingReadyAt: account.unbondingReadyAt,
      jailed: account.jailedUntil > now,
      jailedUntil: account.jailedUntil,
      faults: account.faults,
      reputation: {
        completed: reputation.completed,
        failed: reputation.failed,
        unitsServed: reputation.unitsServed,
        slashedAmount: reputation.slashedAmount,
        /** WAD (1e18 = perfect); also as a 0..1 number for display. */
        score: reputation.score,
        scoreRatio: Number(reputation.score / 1_000_000_000_000n) / 1_000_000,
      },
    }
  }

  app.get('/v1/providers', async (ctx) => {
    // Providers this requester has dealt with, plus every provider with a live offer.
    const jobs = c.tracker?.list() ?? []
    const pairs = voucherPairs(jobs, describe)
    const read = channelsForRequest()
    const channels = new Map(
      await Promise.all(
        [...pairs].map(
          async ([key, pair]) =>
            [
              key,
              voucherRequester ? await read(pair.vault, voucherRequester.address, pair.provider) : undefined,
            ] as const,
        ),
      ),
    )
    const stats = providerStats(jobs, { pairs, channels })
    const known = new Map(stats.map((p) => [p.address.toLowerCase(), p]))
    const now = BigInt(Math.floor(Date.now() / 1000))
    for (const offer of c.requester?.offers.active(now) ?? []) {
      const key = offer.provider.toLowerCase()
      if (!known.has(key))
        known.set(key, { address: offer.provider as Address, bids: 0, wins: 0, earned: 0n })
    }
    if (c.provider && !known.has(c.chain.address.toLowerCase())) {
      known.set(c.chain.address.toLowerCase(), { address: c.chain.address, bids: 0, wins: 0, earned: 0n })
    }
    const providers = await Promise.all(
      [...known.values()].map(async (p) => ({ ...p, ...(await standing(p.address)) })),
    )
    return ctx.json({ providers: jsonSafe(providers) })
  })

  app.get('/v1/providers/:address', async (ctx) => {
    const address = ctx.req.param('address')
    if (!isAddress(address)) {
      throw new BaseError(ErrorCode.InvalidMessage, `not an address: ${address}`, {
        hint: 'pass a 0x address',
      })
    }
    return ctx.json(
      jsonSafe({ address: getAddress(address), ...(await standing(getAddress(address))) }) as object,
    )
  })

  app.get('/v1/provider/jobs', (ctx) => {
    if (!c.provider) {
      throw new RoleNotEnabledError(ErrorCode.InvalidMessage, 'this node is not a provider', {
        hint: 'start the node with --role provider or --role both',
      })
    }
    const { limit, phase } = providerJobsQuery(ctx.req.query('limit'), ctx.req.query('phase'))
    return ctx.json({ jobs: jsonSafe(c.provider.jobs.list({ limit, phase })) })
  })

  app.get('/v1/node', async (ctx) =>
    ctx.json(
      jsonSafe({
        address: c.chain.address,
        role: c.role ?? (c.provider ? (c.requester ? 'both' : 'provider') : 'requester'),
        peerId: c.network.peerId,
        multiaddrs: c.network.multiaddrs(),
        chainId: c.chain.chainId,
        market: c.chain.market,
        balance: await c.balance(),
        // How this requester pays jobs of verification `none` (others always use JobMarket):
        // what `bazaar job run` says a job will cost before it submits it.
        ...(c.tracker ? { payment: voucherRequester ? 'voucher' : 'job-market' } : {}),
      }) as object,
    ),
  )

  app.get('/v1/market/offers', (ctx) => {
    const now = BigInt(Math.floor(Date.now() / 1000))
    const book = requesterRole().requester.offers
    return ctx.json(jsonSafe({ offers: book.active(now), depth: book.depth(now) }) as object)
  })

  app.get('/v1/market/prices', (ctx) => {
    const now = BigInt(Math.floor(Date.now() / 1000))
    return ctx.json(
      jsonSafe({ atSeconds: now, classes: requesterRole().requester.prices.snapshot(now) }) as object,
    )
  })

  app.post('/v1/market/explain', bodyLimit({ maxSize: 1024 * 1024 }), async (ctx) => {
    const { requester } = requesterRole()
    const spec = await specFromBody(ctx.req.json())
    const prepared = await prepareJob(spec, {
      baseDir: '/',
      lookup: (cid) => c.store.get(cid),
      allowPaths: false,
    })
    return ctx.json(jsonSafe(await requester.explain(prepared.descriptor)) as object)
  })

  app.post(
    '/v1/blobs',
    bodyLimit({
      maxSize: MAX_DATA_BYTES,
      onError: (ctx) =>
        ctx.json(
          { error: { code: ErrorCode.InvalidMessage, message: `blob larger than ${MAX_DATA_BYTES} bytes` } },
          413,
        ),
    }),
    async (ctx) => {
      const bytes = new Uint8Array(await ctx.req.arrayBuffer())
      const cid = await c.store.put(bytes)
      return ctx.json({ cid, size: bytes.length }, 201)
    },
  )

  app.post('/v1/jobs', bodyLimit({ maxSize: 1024 * 1024 }), async (ctx) => {
    const { tracker } = requesterRole()
    const spec = await specFromBody(ctx.req.json())
    const prepared = await prepareJob(spec, {
      baseDir: '/',
      lookup: (cid) => c.store.get(cid),
      allowPaths: false,
    })
    const job = await tracker.submit(prepared)
    return ctx.json((await view(job)) as object, 201)
  })

  app.get('/v1/jobs', async (ctx) => ctx.json({ jobs: await views(c.tracker?.list() ?? []) }))

  const find = (id: string): TrackedJob => {
    const job = requesterRole().tracker.get(id)
    if (!job)
      throw new BaseError(ErrorCode.NotFound, `no job ${id} on this node`, {
        hint: 'list jobs with GET /v1/jobs',
      })
    return job
  }

  app.get('/v1/jobs/:id', async (ctx) => {
    const job = find(ctx.req.param('id'))
    return ctx.json({ ...((await view(job)) as object), events: jsonSafe(job.events) })
  })

  app.get('/v1/jobs/:id/logs', (ctx) => {
    const job = find(ctx.req.param('id'))
    return ctx.json(
      jsonSafe({ id: job.id, state: job.state, payment: paymentOf(job.id), events: job.events }) as object,
    )
  })

  app.post('/v1/jobs/:id/cancel', async (ctx) => {
    const { tracker } = requesterRole()
    const job = await tracker.cancel(find(ctx.req.param('id')).id, c.chain)
    return ctx.json({ ...((await view(job)) as object), events: jsonSafe(job.events) })
  })

  app.get('/v1/jobs/:id/output', async (ctx) => {
    const job = find(ctx.req.param('id'))
    const output = await requesterRole().tracker.outputOf(job)
    if (!output) {
      throw new BaseError(ErrorCode.NotFound, `job ${job.id} has no output (state: ${job.state})`, {
        hint:
          job.state === 'running' ? 'wait for the job to finish' : 'the job did not complete; see its error',
      })
    }
    return ctx.body(Buffer.from(output), 200, { 'content-type': 'application/octet-stream' })
  })

  app.get('/v1/jobs/:id/events', (ctx) => {
    const job = find(ctx.req.param('id'))
    return streamSSE(ctx, async (stream) => {
      await new Promise<void>((resolve) => {
        // Writes are chained so the `end` event is flushed before the stream closes.
        let written: Promise<unknown> = Promise.resolve()
        const stop = requesterRole().tracker.follow(job.id, (event) => {
          written = written
            .then(() => stream.writeSSE({ event: event.type, data: JSON.stringify(jsonSafe(event)) }))
            .catch(() => undefined)
          if (event.type === 'end') written.then(() => resolve())
        })
        stream.onAbort(() => {
          stop()
          resolve()
        })
      })
    })
  })

  app.get('/metrics', async (ctx) =>
    ctx.text(await metrics.render(), 200, { 'content-type': metrics.contentType }),
  )
  return app
}

/** Default and largest page of `/v1/provider/jobs`. */
export const PROVIDER_JOBS_LIMIT = { default: 100, max: 1_000 } as const

/** `?limit=` (1..1000, default 100) and `?phase=` (a provider job phase) of `/v1/provider/jobs`. */
function providerJobsQuery(
  limitText: string | undefined,
  phaseText: string | undefined,
): { limit: number; phase: (typeof PROVIDER_JOB_PHASES)[number] | undefined } {
  let limit: number = PROVIDER_JOBS_LIMIT.default
  if (limitText !== undefined) {
    limit = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!(limit >= 1 && limit <= PROVIDER_JOBS_LIMIT.max)) {
      throw new BaseError(
        ErrorCode.InvalidMessage,
        `limit must be an integer from 1 to ${PROVIDER_JOBS_LIMIT.max}`,
        {
          hint: `omit it for the ${PROVIDER_JOBS_LIMIT.default} most recent jobs`,
        },
      )
    }
  }
  if (phaseText === undefined) return { limit, phase: undefined }
  const phase = PROVIDER_JOB_PHASES.find((p) => p === phaseText)
  if (!phase) {
    throw new BaseError(ErrorCode.InvalidMessage, `unknown phase: ${phaseText.slice(0, 64)}`, {
      hint: `one of ${PROVIDER_JOB_PHASES.join(', ')}`,
    })
  }
  return { limit, phase }
}

/** The job spec in a request body: `{ "spec": <object or YAML text> }`, validated. */
async function specFromBody(json: Promise<unknown>) {
  let body: unknown
  try {
    body = await json
  } catch (cause) {
    throw new BaseError(ErrorCode.InvalidMessage, 'request body is not JSON', {
      hint: 'send {"spec": <spec object>} or {"spec": "<YAML text>"}',
      cause,
    })
  }
  const raw = (body as { spec?: unknown } | null)?.spec
  if (raw === undefined)
    throw new BaseError(ErrorCode.InvalidMessage, 'missing "spec"', { hint: 'send {"spec": ...}' })
  return typeof raw === 'string' ? parseJobSpec(raw, 'spec') : validateJobSpec(raw, 'spec')
}

let dashboard: string | undefined
/** The dashboard page: one static file, read once. */
function dashboardHtml(): string {
  dashboard ??= readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8')
  return dashboard
}

/** Serves the API; `port` 0 picks a free one. */
export async function startHttpApi(
  components: HttpApiComponents,
  options: { port?: number; hostname?: string } = {},
): Promise<HttpApi> {
  const app = createHttpApp(components)
  const hostname = options.hostname ?? '127.0.0.1'
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname }, () => resolve(s))
    s.once('error', reject)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  return {
    url: `http://${hostname}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      }),
  }
}
