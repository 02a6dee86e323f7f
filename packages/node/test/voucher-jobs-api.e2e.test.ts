/**
 * What the requester's user sees of voucher-paid jobs (docs/vouchers.md), on real parts (embedded
 * EVM, libp2p on 127.0.0.1, SQLite, WASM): submitted over the HTTP API like any job, they are in
 * the job list and status with their payment kind, provider, price, fuel, exact amounts, voucher
 * sequence and timeline; logs and output work; an unknown voucher job id is the usual typed 404;
 * /metrics counts vouchers on both sides; and all of it survives a requester restart.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseTokens, voucherJobId } from '@bazaar/protocol'
import pino from 'pino'
import type { Address } from 'viem'
import { createHttpApp, type HttpApi, startHttpApi } from '../src/api/http-api.ts'
import { type BazaarNode, createBazaarNode } from '../src/bazaar-node.ts'
import { loadOrCreatePeerKey } from '../src/daemon/peer-key.ts'
import { examplesBuildDir } from '../src/demo/run-demo.ts'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import { JobTracker } from '../src/requester/job-tracker.ts'
import { contractsOf, eventually, GWEI, jobMarketJobCount, wordcountJob } from './voucher-fixture.ts'

const logger = pino({ level: 'silent' })
/** Metrics give token amounts as whole tokens (floats). */
const tokensOf = (units: bigint) => Number(units) / 1e18

interface Running {
  node: BazaarNode
  tracker: JobTracker
  api: HttpApi
}

/** A job as GET /v1/jobs/:id answers (amounts are decimal strings). */
interface JobBody {
  id: string
  state: string
  payment: string
  provider?: string
  pricePerFuel?: string
  fuelUsed?: string
  paid?: string
  escrow?: string
  voucher?: {
    sequence: string
    phase: string
    owed?: string
    vouchered: string
    maxCost: string
    voucher?: { paidThroughSequence: string; cumulativeAmount: string }
  }
  events?: { type: string; sequence?: string; amount?: string; cumulativeAmount?: string }[]
  error?: { code: string }
}

/** The value of one sample of a Prometheus text page (undefined when absent). */
function sample(page: string, series: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('voucher jobs in the requester API, status, logs, output and metrics', () => {
  let market: LocalMarket
  let dir: string
  let requester: Running | undefined
  let requesterAddress: Address
  let port = 0
  const ids: string[] = []
  /** While set, the provider holds every job before running it (the restart-in-flight test). */
  let gate: PromiseWithResolvers<void> | undefined

  /**
   * The requester under test: the deployer's account (so the market's own requester stays out of
   * the way), paying by voucher, with a data dir, a job tracker restored from it and the HTTP API.
   */
  const startRequester = async (): Promise<Running> => {
    const node = await createBazaarNode({
      name: 'voucher-requester',
      contracts: await contractsOf(market, 0),
      logger,
      // As the daemon does: the same peer id and port after a restart, so a provider's result
      // notice for a job awarded before it still reaches this requester.
      peerKey: await mkdir(join(dir, 'requester'), { recursive: true }).then(() =>
        loadOrCreatePeerKey(join(dir, 'requester')),
      ),
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      bootstrap: market.providers[0]!.network.multiaddrs(),
      requester: {},
      dataDir: join(dir, 'requester'),
      vouchers: {
        vault: market.deployment.vault,
        payment: 'voucher',
        requester: { depositAmount: parseTokens('5'), pollMs: 200 },
      },
    })
    const tracker = new JobTracker(node.requester!, { db: node.db.requesterJobs, store: node.store })
    await tracker.restore()
    const api = await startHttpApi({
      role: 'requester',
      tracker,
      requester: node.requester,
      store: node.store,
      chain: node.chain,
      network: node.network,
      logger,
      balance: async () => 0n,
      stakeOf: async () => 0n,
      vouchers: node.vouchers,
    })
    await eventually(
      async () => ((node.requester?.offers.size ?? 0) >= 1 ? true : undefined),
      "the provider's offer",
    )
    return { node, tracker, api }
  }
  const stopRequester = async () => {
    if (!requester) return
    await requester.api.close()
    await requester.tracker.drain()
    await requester.node.stop()
    requester = undefined
  }
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${requester!.api.url}${path}`)
    return { status: response.status, body: (await response.json()) as T }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-voucher-api-'))
    market = await startLocalMarket({
      providers: [
        {
          name: 'p0',
          cores: 2,
          memoryMb: 512,
          pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 },
          wrapRunner: (runner) => ({
            run: async (job, opts) => {
              await gate?.promise
              return runner.run(job, opts)
            },
          }),
        },
      ],
      logger,
      payment: 'voucher',
      vouchers: { provider: { redeemThreshold: 10n ** 30n, redeemIntervalMs: 3_600_000, pollMs: 200 } },
    })
    const deployer = await contractsOf(market, 0)
    requesterAddress = deployer.address
    await market.admin.mint(requesterAddress, parseTokens('100'))
    requester = await startRequester()
    port = Number(requester.node.network.multiaddrs()[0]!.split('/tcp/')[1]!.split('/')[0])
  })

  after(async () => {
    await stopRequester().catch(() => undefined)
    await market?.stop().catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  })

  it('POST /v1/jobs returns a voucher job at once and it ends completed, with its payment in the list and status', async () => {
    const api = requester!.api.url
    const wasm = new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
    const blob = (await (await fetch(`${api}/v1/blobs`, { method: 'POST', body: wasm })).json()) as {
      cid: string
    }
    const spec = {
      version: 1,
      name: 'api-voucher-0',
      runtime: 'wasm',
      module: { cid: blob.cid },
      args: ['in.txt'],
      env: { LANG: 'C' },
      inputs: [{ name: 'in.txt', text: 'one two three four\n' }],
      resources: { cores: 1, memoryMb: 64 },
      limits: { fuel: '50000000' },
      price: { maxPerFuel: (3n * GWEI).toString() },
      deadlines: { biddingMs: 800, executionSeconds: 60 },
    }
    // Before this change the request never returned: the tracker waited for an escrow event.
    const response = await fetch(`${api}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spec }),
      signal: AbortSignal.timeout(30_000),
    })
    assert.equal(response.status, 201)
    const submitted = (await response.json()) as JobBody
    assert.equal(submitted.payment, 'voucher')
    assert.ok(BigInt(submitted.id) >= 2n ** 255n, 'a voucher-job id')
    ids.push(submitted.id)
    // A second one through the tracker directly (the same path the API takes).
    const second = await requester!.tracker.submit(await wordcountJob('api-voucher-1', 'a b c d e f g'))
    ids.push(second.id)
    for (const id of ids) {
      await eventually(
        async () => ((await get<JobBody>(`/v1/jobs/${id}`)).body.state !== 'running' ? true : undefined),
        `job ${id} to end`,
      )
    }
    assert.equal(await jobMarketJobCount(market), 0n, 'no JobMarket job')

    const providerAddress = market.providers[0]!.chain.address.toLowerCase()
    let cumulative = 0n
    for (const [index, id] of ids.entries()) {
      const { status, body } = await get<JobBody>(`/v1/jobs/${id}`)
      assert.equal(status, 200)
      assert.equal(body.state, 'completed', JSON.stringify(body.error))
      assert.equal(body.payment, 'voucher')
      assert.equal(body.provider?.toLowerCase(), providerAddress)
      const fuel = BigInt(body.fuelUsed!)
      const price = BigInt(body.pricePerFuel!)
      assert.ok(fuel > 0n && price > 0n)
      const owed = fuel * price
      cumulative += owed
      assert.equal(body.paid, owed.toString(), 'the amount owed is exactly fuel used × price')
      assert.equal(body.escrow, '0', 'no escrow of its own')
      // The voucher section: its sequence in the pair, what it owes and what a voucher covers.
      const v = body.voucher!
      assert.equal(v.sequence, String(index + 1))
      assert.equal(v.owed, owed.toString())
      // Verified jobs are vouchered in sequence, so the second voucher covers both.
      const latest = await eventually(async () => {
        const fresh = (await get<JobBody>(`/v1/jobs/${id}`)).body.voucher
        return fresh?.phase === 'vouchered' ? fresh : undefined
      }, `job ${id} to be vouchered`)
      assert.equal(latest.vouchered, owed.toString())
      assert.equal(latest.voucher?.paidThroughSequence, String(index + 1))
      assert.equal(latest.voucher?.cumulativeAmount, cumulative.toString())
      const timeline = (await get<JobBody>(`/v1/jobs/${id}`)).body.events!.map((e) => e.type)
      for (const step of [
        'created',
        'announced',
        'bid',
        'awarded',
        'revealed',
        'verified',
        'voucher-signed',
      ]) {
        assert.ok(timeline.includes(step), `${step} in ${timeline.join(',')}`)
      }
      const signed = (await get<JobBody>(`/v1/jobs/${id}`)).body.events!.find(
        (e) => e.type === 'voucher-signed',
      )!
      assert.equal(signed.amount, owed.toString())
      assert.equal(signed.cumulativeAmount, cumulative.toString())
      assert.equal(
        (await get<JobBody>(`/v1/jobs/${id}`)).body.events!.find((e) => e.type === 'awarded')?.sequence,
        String(index + 1),
      )
    }

    const list = (await get<{ jobs: JobBody[] }>('/v1/jobs')).body.jobs
    for (const id of ids) {
      const listed = list.find((j) => j.id === id)
      assert.ok(listed, `job ${id} in the list`)
      assert.equal(listed.payment, 'voucher')
      assert.equal(listed.state, 'completed')
    }
    const logs = await get<{ id: string; state: string; events: { type: string }[] }>(
      `/v1/jobs/${ids[0]}/logs`,
    )
    assert.equal(logs.status, 200)
    assert.ok(logs.body.events.some((e) => e.type === 'voucher-signed'))
    const output = await fetch(`${requester!.api.url}/v1/jobs/${ids[0]}/output`)
    assert.equal(output.status, 200)
    assert.match(await output.text(), /4/, 'wordcount counted four words')

    // The requester's metrics: two vouchers, exactly the cumulative amount, two vouchered jobs.
    const page = await (await fetch(`${requester!.api.url}/metrics`)).text()
    assert.equal(sample(page, 'bazaar_voucher_requester_vouchers_signed_total'), 2)
    assert.equal(sample(page, 'bazaar_voucher_requester_vouchered_tokens_total'), tokensOf(cumulative))
    assert.equal(sample(page, 'bazaar_voucher_requester_jobs{phase="vouchered"}'), 2)
    assert.equal(sample(page, 'bazaar_jobs{state="completed"}'), 2)
    assert.equal(sample(page, 'bazaar_voucher_requester_claims_total{outcome="seen"}'), 0)
    assert.equal(
      requester!.node.vouchers.requester!.stats().voucheredAmount,
      cumulative,
      'exact in base units',
    )

    // The provider's metrics: both awards and both vouchers accepted, then one redemption of 2 jobs.
    const provider = market.providers[0]!
    const vp = provider.vouchers.provider!
    const providerApp = createHttpApp({
      role: 'provider',
      provider: provider.provider,
      store: provider.store,
      chain: provider.chain,
      network: provider.network,
      logger,
      balance: async () => 0n,
      stakeOf: async () => 0n,
      vouchers: provider.vouchers,
    })
    const scrape = async () => (await providerApp.request('/metrics')).text()
    await eventually(
      async () => (vp.latestVoucher(requesterAddress)?.voucher.paidThroughSequence === 2n ? true : undefined),
      'the provider to hold the voucher through job 2',
    )
    let providerPage = await scrape()
    assert.equal(
      sample(providerPage, 'bazaar_voucher_provider_messages_accepted_total{type="voucher-award"}'),
      2,
    )
    assert.equal(sample(providerPage, 'bazaar_voucher_provider_messages_accepted_total{type="voucher"}'), 2)
    assert.equal(
      sample(providerPage, `bazaar_voucher_provider_unredeemed_tokens{requester="${requesterAddress}"}`),
      tokensOf(cumulative),
    )
    assert.equal(sample(providerPage, 'bazaar_voucher_provider_redemptions_total'), 0)
    const redeemed = await vp.redeem('test')
    assert.equal(redeemed.paid, cumulative)
    providerPage = await scrape()
    assert.equal(sample(providerPage, 'bazaar_voucher_provider_redemptions_total'), 1)
    assert.equal(sample(providerPage, 'bazaar_voucher_provider_redeemed_vouchers_total'), 1)
    assert.equal(sample(providerPage, 'bazaar_voucher_provider_redeemed_jobs_total'), 2)
    assert.equal(sample(providerPage, 'bazaar_voucher_provider_redeemed_tokens_total'), tokensOf(cumulative))
    assert.ok((sample(providerPage, 'bazaar_voucher_provider_redeem_gas_total') ?? 0) > 0)
    const exposure = vp.exposures().find((e) => e.requester.toLowerCase() === requesterAddress.toLowerCase())
    assert.deepEqual([exposure?.unvouchered, exposure?.unredeemed], [0n, 0n])
  })

  it('answers an unknown voucher job id with the same typed 404 as any unknown job', async () => {
    const unknown = voucherJobId(requesterAddress, `0x${'ab'.repeat(32)}`).toString()
    for (const path of [
      `/v1/jobs/${unknown}`,
      `/v1/jobs/${unknown}/logs`,
      `/v1/jobs/${unknown}/output`,
      '/v1/jobs/12345',
    ]) {
      const { status, body } = await get<{ error: { code: string; hint?: string } }>(path)
      assert.equal(status, 404, path)
      assert.equal(body.error.code, 'E_NOT_FOUND', path)
    }
  })

  it('keeps voucher jobs, their amounts, timeline and output across a requester restart', async () => {
    const before = new Map<string, JobBody>()
    for (const id of ids) before.set(id, (await get<JobBody>(`/v1/jobs/${id}`)).body)
    await stopRequester()
    requester = await startRequester()
    for (const id of ids) {
      const { status, body } = await get<JobBody>(`/v1/jobs/${id}`)
      assert.equal(status, 200)
      const was = before.get(id)!
      assert.equal(body.state, 'completed')
      assert.equal(body.payment, 'voucher')
      assert.deepEqual(
        [body.provider, body.pricePerFuel, body.fuelUsed, body.paid],
        [was.provider, was.pricePerFuel, was.fuelUsed, was.paid],
      )
      assert.deepEqual(body.voucher, was.voucher)
      assert.deepEqual(
        body.events!.map((e) => e.type),
        was.events!.map((e) => e.type),
      )
    }
    const output = await fetch(`${requester!.api.url}/v1/jobs/${ids[0]}/output`)
    assert.equal(output.status, 200)
    // A job after the restart continues the pair's sequence.
    const third = await requester!.tracker.submit(await wordcountJob('api-voucher-2', 'x y'))
    const ended = await eventually(async () => {
      const body = (await get<JobBody>(`/v1/jobs/${third.id}`)).body
      return body.state !== 'running' ? body : undefined
    }, 'the third job')
    assert.equal(ended.state, 'completed', JSON.stringify(ended.error))
    assert.equal(ended.voucher?.sequence, '3')
    const page = await (await fetch(`${requester!.api.url}/metrics`)).text()
    assert.equal(sample(page, 'bazaar_jobs{state="completed"}'), 3)
  })
  it('resumes a voucher job awarded before a requester restart and completes it from the result after', async () => {
    gate = Promise.withResolvers<void>()
    const tracked = await requester!.tracker.submit(
      await wordcountJob('api-voucher-inflight', 'in flight words'),
    )
    await eventually(
      async () =>
        requester!.node.db.vouchers.jobById('requester', tracked.id)?.phase === 'awarded' &&
        market.providers[0]!.db.vouchers.jobById('provider', tracked.id)?.phase === 'running'
          ? true
          : undefined,
      'the award, and the provider holding the job',
    )
    // Stopped without waiting for the job (as a crash would leave it): the job is stored as awarded.
    await requester!.api.close()
    await requester!.node.stop()
    requester = undefined
    requester = await startRequester()
    const resumed = requester.tracker.get(tracked.id)
    assert.equal(resumed?.state, 'running', 'restored and resumed')
    gate.resolve()
    gate = undefined
    const ended = await eventually(async () => {
      const body = (await get<JobBody>(`/v1/jobs/${tracked.id}`)).body
      return body.state !== 'running' ? body : undefined
    }, 'the resumed job to end')
    assert.equal(ended.state, 'completed', JSON.stringify(ended.error))
    assert.equal(ended.payment, 'voucher')
    const owed = BigInt(ended.fuelUsed!) * BigInt(ended.pricePerFuel!)
    assert.equal(ended.paid, owed.toString())
    const vouchered = await eventually(async () => {
      const v = (await get<JobBody>(`/v1/jobs/${tracked.id}`)).body.voucher
      return v?.phase === 'vouchered' ? v : undefined
    }, 'the resumed job to be vouchered')
    assert.equal(vouchered.sequence, '4')
    assert.equal(vouchered.vouchered, owed.toString())
    const types = (await get<JobBody>(`/v1/jobs/${tracked.id}`)).body.events!.map((e) => e.type)
    for (const step of ['created', 'awarded', 'revealed', 'verified', 'voucher-signed', 'finalized']) {
      assert.ok(types.includes(step), `${step} in ${types.join(',')}`)
    }
    const output = await fetch(`${requester.api.url}/v1/jobs/${tracked.id}/output`)
    assert.equal(output.status, 200)
    // The provider holds the voucher through job 4, for exactly what the four jobs owed.
    const vp = market.providers[0]!.vouchers.provider!
    await eventually(
      async () => (vp.latestVoucher(requesterAddress)?.voucher.paidThroughSequence === 4n ? true : undefined),
      'the voucher through job 4',
    )
  })
})
