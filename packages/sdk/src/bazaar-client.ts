import { BaseError, ErrorCode } from '@bazaar/protocol'
import { createParser } from 'eventsource-parser'
import { ApiError } from './api-error.ts'

/** A job as the node reports it. Amounts are decimal strings of token base units. */
export interface JobView {
  id: string
  name: string
  state: 'running' | 'completed' | 'failed' | 'refunded' | 'unverified' | 'error'
  submittedAt: number
  provider?: string
  pricePerFuel?: string
  fuelUsed?: string
  paid?: string
  refunded?: string
  escrow?: string
  gasUsed?: string
  bidsReceived?: number
  outputBytes?: number
  error?: { code: string; message: string; hint?: string; details?: Record<string, unknown> }
  events?: JobEventView[]
  /** How the job is paid: its own JobMarket escrow, or vouchers of the VoucherVault (docs/vouchers.md). */
  payment?: 'job-market' | 'voucher'
  /** A voucher job's payment, once awarded (absent on nodes that do not pay by voucher). */
  voucher?: VoucherJobInfo
}

/** A voucher job's payment as the requester's node reports it. Amounts are decimal strings of base units. */
export interface VoucherJobInfo {
  vault: string
  provider: string
  /** The award's number in the (requester, provider) pair, from 1. */
  sequence: string
  /** awarded → verified → vouchered, or rejected (never vouchered). */
  phase: string
  /** maxFuel × pricePerFuel: the most the job could cost. */
  maxCost: string
  /** fuelUsed × pricePerFuel once the result verified: what is owed for the job. */
  owed?: string
  /** The part of `owed` a signed voucher covers. */
  vouchered: string
  /**
   * Where the payment stands on-chain: `awarded` (nothing owed yet), `owed` (verified, no voucher
   * yet), `vouchered` (a signed voucher covers it, not redeemed), `claim-pending`, `redeemed` (a
   * redeemed voucher paid it), `claimed` (a claim paid it), `rejected` (never owed). Older nodes
   * do not say.
   */
  settlement?: VoucherSettlement
  /** The part paid to the provider on-chain; absent when the node could not read the vault. */
  redeemed?: string
  /** The cumulative voucher that covered the job. */
  voucher?: { paidThroughSequence: string; cumulativeAmount: string; signedAt?: number }
  /** Unix seconds. */
  resultDeadline: string
  claimDeadline: string
  /** A claim the provider filed for the job, and its end once seen (status Paid or Rejected). */
  claim?: {
    claimId: string
    amount: string
    seenAt: number
    disputed: boolean
    status?: 'Paid' | 'Rejected'
    endedAt?: number
  }
  reason?: string
}

export type VoucherSettlement =
  | 'awarded'
  | 'owed'
  | 'vouchered'
  | 'claim-pending'
  | 'redeemed'
  | 'claimed'
  | 'rejected'

/** One step of a job (see the node's JobEvent); `end` closes a watch. */
export interface JobEventView {
  type: string
  at?: number
  jobId?: string
  state?: JobView['state']
  [field: string]: unknown
}

/** A provider as the node reports it. Amounts are decimal strings of token base units. */
export interface ProviderView {
  address: string
  stake: string
  locked?: string
  unbonding?: string
  unbondingReadyAt?: string
  jailed?: boolean
  jailedUntil?: string
  faults?: string
  reputation?: {
    completed: string
    failed: string
    unitsServed: string
    slashedAmount: string
    /** WAD: 1e18 is a perfect record. */
    score: string
    /** The score as a number from 0 to 1. */
    scoreRatio: number
  }
  /** What this node has seen of it (requester role). */
  bids?: number
  wins?: number
  /** Paid to it on-chain for this node's jobs (JobMarket settlements, redeemed vouchers, paid claims). */
  earned?: string
  /** Vouchers of this node it has not redeemed yet: owed, not paid, not in `earned`. */
  voucheredUnredeemed?: string
}

export interface NodeInfo {
  address: string
  role?: 'provider' | 'requester' | 'both'
  peerId: string
  multiaddrs: string[]
  chainId: number
  market: string
  balance: string
  /** Requester role: how the node pays jobs of verification `none` (others always escrow on JobMarket). */
  payment?: 'job-market' | 'voucher'
}

export interface OfferView {
  provider: string
  peerId: string
  cores: number
  memoryMb: number
  runtimes: string[]
  floorPricePerFuel: string
  stake: string
  expiry: string
  [field: string]: unknown
}

export interface PriceStatsView {
  resourceClass: string
  count: number
  recent: string
  median: string
  min: string
  max: string
}

export interface ReasonView {
  reason: string
  detail: string
}

export interface ExplanationView {
  resourceClass: string
  candidates: { provider: string; expectedPrice: { low: string; high: string }; floorPricePerFuel: string }[]
  excluded: { provider: string; reason: string; reasons: ReasonView[] }[]
  expectedPrice?: { low: string; high: string }
  reasonCounts: Record<string, number>
}

export interface BazaarClientInit {
  /** The node's API, e.g. http://127.0.0.1:8080 */
  url: string
  /** Per-request timeout in ms for non-streaming calls (default 60 s). */
  timeoutMs?: number
}

/** Typed client of a Bazaar node's HTTP API. */
export class BazaarClient {
  readonly url: string
  private readonly timeoutMs: number

  constructor(init: BazaarClientInit) {
    this.url = init.url.replace(/\/+$/, '')
    this.timeoutMs = init.timeoutMs ?? 60_000
  }

  node(): Promise<NodeInfo> {
    return this.json('GET', '/v1/node')
  }

  /** Uploads bytes the node will serve to providers; returns their CID. */
  uploadBlob(bytes: Uint8Array): Promise<{ cid: string; size: number }> {
    return this.json('POST', '/v1/blobs', bytes)
  }

  /** Submits a spec (object or YAML text) whose files are referenced by cid or given inline. */
  submit(spec: object | string): Promise<JobView> {
    return this.json('POST', '/v1/jobs', { spec })
  }

  /** Providers' current signed offers and the market depth they add up to. */
  offers(): Promise<{ offers: OfferView[]; depth: Record<string, unknown> }> {
    return this.json('GET', '/v1/market/offers')
  }

  /** Clearing prices per resource class from recent awards. */
  prices(): Promise<{ atSeconds: string; classes: Record<string, PriceStatsView> }> {
    return this.json('GET', '/v1/market/prices')
  }

  /** Dry run: who could take this job at what price, and why each other provider could not. */
  explain(spec: object | string): Promise<ExplanationView> {
    return this.json('POST', '/v1/market/explain', { spec })
  }

  getJob(id: string): Promise<JobView> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}`)
  }

  async listJobs(): Promise<JobView[]> {
    return (await this.json<{ jobs: JobView[] }>('GET', '/v1/jobs')).jobs
  }

  /**
   * Cancels a job still collecting bids; the whole escrow is refunded on-chain. Rejects with an
   * ApiError of status 409 once the job is awarded (it then runs to the end) or has ended.
   */
  cancel(id: string): Promise<JobView> {
    return this.json('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`)
  }

  /** The job's event timeline so far (use `watch` to follow it live). */
  logs(id: string): Promise<{ id: string; state: JobView['state']; events: JobEventView[] }> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}/logs`)
  }

  /** A provider's on-chain standing: stake buckets, jail, reputation counters and score. */
  provider(address: string): Promise<ProviderView> {
    return this.json('GET', `/v1/providers/${encodeURIComponent(address)}`)
  }

  /** Providers this node knows (from its jobs and live offers), with stake and reputation. */
  async providers(): Promise<ProviderView[]> {
    return (await this.json<{ providers: ProviderView[] }>('GET', '/v1/providers')).providers
  }

  async output(id: string): Promise<Uint8Array> {
    const response = await this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/output`)
    return new Uint8Array(await response.arrayBuffer())
  }

  /** Every event of a job, past and live, until it ends. */
  async *watch(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<JobEventView> {
    const response = await this.request(
      'GET',
      `/v1/jobs/${encodeURIComponent(id)}/events`,
      undefined,
      options.signal ?? null,
    )
    if (!response.body) return
    const queue: JobEventView[] = []
    const parser = createParser({
      onEvent: (message) => {
        queue.push(JSON.parse(message.data) as JobEventView)
      },
    })
    const decoder = new TextDecoder()
    const reader = response.body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        parser.feed(decoder.decode(value, { stream: true }))
        while (queue.length > 0) {
          const event = queue.shift()!
          yield event
          if (event.type === 'end') return
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined)
    }
  }

  /** Watches a job to its end and returns its final view. */
  async wait(id: string, onEvent?: (event: JobEventView) => void): Promise<JobView> {
    for await (const event of this.watch(id)) onEvent?.(event)
    return this.getJob(id)
  }

  private async json<T>(method: string, path: string, body?: object | Uint8Array): Promise<T> {
    const response = await this.request(method, path, body, AbortSignal.timeout(this.timeoutMs))
    return (await response.json()) as T
  }

  private async request(
    method: string,
    path: string,
    body?: object | Uint8Array,
    signal?: AbortSignal | null,
  ): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        signal: signal ?? null,
        ...(body instanceof Uint8Array
          ? { body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream' } }
          : body
            ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
            : {}),
      })
    } catch (cause) {
      throw new BaseError(ErrorCode.Internal, `cannot reach the Bazaar node at ${this.url}`, {
        hint: 'start one with `npm run bazaar -- node start --local`, or pass --api URL',
        cause,
      })
    }
    if (!response.ok) {
      const payload = (await response.json().catch(() => ({}))) as { error?: Record<string, unknown> }
      throw new ApiError(response.status, (payload.error ?? {}) as ConstructorParameters<typeof ApiError>[1])
    }
    return response
  }
}

export function createBazaarClient(init: BazaarClientInit): BazaarClient {
  return new BazaarClient(init)
}
