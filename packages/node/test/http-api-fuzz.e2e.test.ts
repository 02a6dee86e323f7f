/**
 * Hostile input on the HTTP API (docs/reliability.md, "Failure model"): a requester node's API
 * over a real local market (embedded EVM, libp2p, SQLite) gets thousands of random and malformed
 * requests on every route that takes input: random JSON and non-JSON bodies, invalid UTF-8,
 * oversized bodies, random ids and addresses in paths. Every answer must be a client error with a
 * typed JSON body (never a 5xx, never a hang), the node must keep serving, and its memory must
 * stay bounded.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import pino from 'pino'
import { type HttpApi, startHttpApi } from '../src/api/http-api.ts'
import { demoProviders } from '../src/demo/run-demo.ts'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import { JobTracker } from '../src/requester/job-tracker.ts'

/** A POST on a connection of its own (no keep-alive), tolerant of the server answering early. */
function postOnce(url: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    })
    req.on('response', (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    // The server may close its side once it has answered; the answer is what counts.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)))
    req.end(body)
  })
}

/** Fixed so a failure replays: `FC_SEED` overrides it. */
const SEED = Number(process.env.FC_SEED ?? 20261125)

describe('HTTP API under hostile input', () => {
  let market: LocalMarket
  let api: HttpApi
  const statuses = new Map<number, number>()

  before(async () => {
    const logger = pino({ level: 'silent' })
    market = await startLocalMarket({ providers: demoProviders.slice(0, 1), logger })
    api = await startHttpApi({
      tracker: new JobTracker(market.requester.requester!),
      requester: market.requester.requester!,
      registry: market.admin,
      store: market.requester.store,
      chain: market.requester.chain,
      network: market.requester.network,
      logger,
      balance: () => market.admin.balanceOf(market.requester.chain.address),
      stakeOf: (provider) => market.admin.stakeOf(provider),
    })
  })

  after(async () => {
    await api?.close()
    await market?.stop()
  })

  /** Sends one request; asserts a typed client error (or success) and never a server error. */
  async function probe(method: string, path: string, body?: BodyInit, contentType = 'application/json') {
    const res = await fetch(`${api.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }),
      signal: AbortSignal.timeout(30_000),
    })
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    const text = await res.text()
    assert.ok(res.status < 500, `${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`)
    if (res.status >= 400) {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
      assert.equal(
        typeof parsed.error?.code,
        'string',
        `${method} ${path}: typed error body, got ${text.slice(0, 200)}`,
      )
      assert.equal(typeof parsed.error?.message, 'string')
    }
    return res.status
  }

  it('answers random JSON specs with a typed 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 4 }),
        fc.constantFrom('/v1/jobs', '/v1/market/explain'),
        async (value, path) => {
          const status = await probe('POST', path, JSON.stringify(value))
          assert.ok(
            status === 400 || status === 409,
            `${path}: ${status} for ${JSON.stringify(value).slice(0, 200)}`,
          )
        },
      ),
      { seed: SEED, numRuns: 600 },
    )
  })

  it('answers specs that are almost right (each field mangled) with a typed 400', async () => {
    const valid = {
      version: 1,
      name: 'fuzz',
      runtime: 'wasm',
      module: { cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' },
      args: ['in.txt'],
      inputs: [{ name: 'in.txt', text: 'a b c' }],
      limits: { fuel: '5000000' },
      price: { maxPerFuel: '5000000000' },
    }
    const keys = Object.keys(valid) as (keyof typeof valid)[]
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 }), async (key, junk) => {
        // The module CID names a blob this node does not hold, so even a valid spec is refused.
        const status = await probe('POST', '/v1/jobs', JSON.stringify({ ...valid, [key]: junk }))
        assert.equal(status, 400)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('answers bodies that are not JSON, or not UTF-8, with a typed 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 })),
        fc.constantFrom('/v1/jobs', '/v1/market/explain'),
        fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'),
        async (body, path, type) => {
          const status = await probe('POST', path, body, type)
          assert.ok(status === 400 || status === 409 || status === 415, `${path}: ${status}`)
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
  })

  it('answers random ids and addresses in paths with a typed 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 80 }),
          fc.bigInt({ min: -(2n ** 80n), max: 2n ** 260n }).map(String),
        ),
        fc.constantFrom(
          ['GET', '/v1/jobs/%s'],
          ['GET', '/v1/jobs/%s/logs'],
          ['GET', '/v1/jobs/%s/output'],
          ['POST', '/v1/jobs/%s/cancel'],
          ['GET', '/v1/providers/%s'],
          ['GET', '/v1/blobs/%s'],
        ),
        async (id, [method, template]) => {
          await probe(method!, template!.replace('%s', encodeURIComponent(id)))
        },
      ),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('refuses oversized bodies with 413 before reading them, and keeps serving', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x7b)
    for (const path of ['/v1/jobs', '/v1/market/explain']) {
      // Its own connection: the server answers before the body is in and then closes it.
      const { status, body } = await postOnce(`${api.url}${path}`, big)
      assert.equal(status, 413, `${path}: ${body}`)
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'E_INVALID_MESSAGE')
    }
    const health = await fetch(`${api.url}/v1/health`)
    assert.equal(health.status, 200)
  })

  it('keeps serving with bounded memory after all of it', async () => {
    global.gc?.()
    const before = process.memoryUsage().rss
    // Another 1,000 hostile requests: memory that grew with each would show here.
    for (let i = 0; i < 1_000; i++) {
      await probe('POST', '/v1/jobs', `{"version":1,"name":"${'x'.repeat(i % 500)}"`)
    }
    global.gc?.()
    const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20
    assert.ok(grownMiB < 100, `RSS grew ${grownMiB.toFixed(1)} MiB over 1,000 bad requests`)
    assert.equal((await fetch(`${api.url}/v1/health`)).status, 200)
    const jobs = (await (await fetch(`${api.url}/v1/jobs`)).json()) as { jobs: unknown[] }
    assert.deepEqual(jobs.jobs, [], 'no bad request created a job')
    assert.ok((statuses.get(400) ?? 0) > 1_000, `statuses seen: ${JSON.stringify([...statuses])}`)
  })
})
