/**
 * Voucher jobs as a user of the daemons sees them (docs/vouchers.md): a devnet, a provider daemon
 * and a requester daemon configured `requester: { payment: voucher }`, as separate processes. `bazaar
 * job run` submits and follows a job to its end; `bazaar job list` and `job status` show it with
 * `payment: voucher`, its exact amounts and voucher sequence; both daemons' /metrics count it; an
 * unknown voucher job id fails like any unknown job; no JobMarket job is created.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { JobView } from '@bazaar/sdk'
import { type ProcessMarket, repoRoot, startProcessMarket, waitFor } from './harness/process-market.ts'

const wordcountSpec = resolve(repoRoot, 'examples/specs/wordcount.yaml')

/** The value of one sample of a Prometheus text page (undefined when absent). */
function sample(page: string, series: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('voucher jobs through the daemons and the CLI', () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-voucher-daemon-'))
    market = await startProcessMarket({
      dir,
      providers: 1,
      requesterConfig: ['requester:', '  payment: voucher'],
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs a job by voucher with `bazaar job run` and shows it in job list, status and metrics', async () => {
    const api = market.requester.ready.api
    const ran = await market.bazaarJson<JobView>(['job', 'run', wordcountSpec, '--api', api])
    assert.equal(ran.state, 'completed', JSON.stringify(ran.error))
    assert.equal(ran.payment, 'voucher')
    assert.ok(BigInt(ran.id) >= 2n ** 255n)
    const owed = BigInt(ran.fuelUsed!) * BigInt(ran.pricePerFuel!)
    assert.equal(ran.paid, owed.toString())
    assert.equal(ran.provider?.toLowerCase(), market.providers[0]!.ready.address.toLowerCase())

    const list = await market.bazaarJson<JobView[]>(['job', 'list', '--api', api])
    const listed = list.find((j) => j.id === ran.id)
    assert.equal(listed?.payment, 'voucher')
    const status = await waitFor(
      'the job to be vouchered',
      async () => {
        const view = await market.bazaarJson<JobView>(['job', 'status', ran.id, '--api', api])
        return view.voucher?.phase === 'vouchered' ? view : undefined
      },
      30_000,
    )
    assert.equal(status.voucher?.sequence, '1')
    assert.equal(status.voucher?.owed, owed.toString())
    assert.equal(status.voucher?.vouchered, owed.toString())
    assert.equal(status.voucher?.voucher?.cumulativeAmount, owed.toString())
    assert.ok(status.events?.some((e) => e.type === 'voucher-signed'))

    const requesterMetrics = await (await fetch(`${api}/metrics`)).text()
    assert.equal(sample(requesterMetrics, 'bazaar_voucher_requester_vouchers_signed_total'), 1)
    assert.equal(
      sample(requesterMetrics, 'bazaar_voucher_requester_vouchered_tokens_total'),
      Number(owed) / 1e18,
    )
    const providerMetrics = await waitFor(
      'the provider to accept the voucher',
      async () => {
        const page = await (await fetch(`${market.providers[0]!.ready.api}/metrics`)).text()
        return sample(page, 'bazaar_voucher_provider_messages_accepted_total{type="voucher"}') === 1
          ? page
          : undefined
      },
      30_000,
    )
    assert.equal(
      sample(providerMetrics, 'bazaar_voucher_provider_messages_accepted_total{type="voucher-award"}'),
      1,
    )
    assert.equal(
      sample(
        providerMetrics,
        `bazaar_voucher_provider_unredeemed_tokens{requester="${market.requester.ready.address}"}`,
      ),
      Number(owed) / 1e18,
    )

    const unknown = `${BigInt(ran.id) + 1n}`
    await assert.rejects(
      market.bazaarJson(['job', 'status', unknown, '--api', api]),
      /no job .* on this node/,
    )
  })
})
