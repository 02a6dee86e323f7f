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
import { createVoucherVault } from '@bazaar/chain'
import { connectChain } from '@bazaar/node/daemon/connect-chain'
import { formatTokens } from '@bazaar/protocol'
import type { JobView, ProviderView } from '@bazaar/sdk'
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
  it('`job run` and `job status` say how a voucher job is paid: no escrow, owed, vouchered, then redeemed', async () => {
    const api = market.requester.ready.api
    const provider = market.providers[0]!.ready.address
    const run = await market.bazaarText(['job', 'run', wordcountSpec, '--api', api])
    assert.match(run, /^cost: paid by voucher: .* no JobMarket escrow for this job$/m, run)
    assert.doesNotMatch(run, /cost: escrow|escrowed/, 'no per-job escrow line for a voucher job')
    assert.match(run, /voucher job created: no escrow of its own/)
    assert.match(run, /^ {2}payment {6}voucher \(/m, run)
    const id = /^job (\d+) submitted$/m.exec(run)?.[1]
    assert.ok(id && BigInt(id) >= 2n ** 255n, run)

    const view = await waitFor(
      'the second job to be vouchered',
      async () => {
        const v = await market.bazaarJson<JobView>(['job', 'status', id, '--api', api])
        return v.voucher?.phase === 'vouchered' ? v : undefined
      },
      30_000,
    )
    const voucher = view.voucher!
    assert.equal(voucher.sequence, '2')
    assert.equal(
      voucher.settlement,
      'vouchered',
      'signed, not redeemed: the provider redeems at 1 BZR or hourly',
    )
    assert.equal(voucher.redeemed, '0')
    const owed = BigInt(voucher.owed!)
    const cumulative = BigInt(voucher.voucher!.cumulativeAmount)
    assert.ok(cumulative > owed, 'the voucher through sequence 2 covers both jobs')
    const before = await market.bazaarText(['job', 'status', id, '--api', api])
    assert.match(
      before,
      /payment {6}voucher \(vouchered: a signed voucher covers it, not redeemed on-chain yet\)/,
    )
    assert.ok(
      before.includes(
        `owed         ${formatTokens(owed)}; vouchered ${formatTokens(owed)}; redeemed ${formatTokens(0n)}`,
      ),
      before,
    )
    assert.doesNotMatch(before, /escrowed/)
    const providersOf = async () =>
      ((await (await fetch(`${api}/v1/providers`)).json()) as { providers: ProviderView[] }).providers.find(
        (p) => p.address.toLowerCase() === provider.toLowerCase(),
      )
    const unpaid = await providersOf()
    assert.deepEqual(
      [unpaid?.earned, unpaid?.voucheredUnredeemed],
      ['0', cumulative.toString()],
      'vouchered is not earned until redeemed',
    )

    // The provider redeems: the voucher it holds is the requester's signature over exactly these
    // terms (cumulative through sequence 2). The test signs the same terms with the requester's key
    // (the vault does not check jobsRoot) and redeems them with the provider's key, as its node would.
    const requesterChain = await connectChain({
      rpcUrl: market.devnet.rpcUrl,
      deployment: market.deployment,
      privateKey: market.requesterAccount.privateKey,
    })
    const providerChain = await connectChain({
      rpcUrl: market.devnet.rpcUrl,
      deployment: market.deployment,
      privateKey: market.providerAccounts[0]!.privateKey,
    })
    const terms = {
      requester: market.requester.ready.address as `0x${string}`,
      provider: provider as `0x${string}`,
      paidThroughSequence: 2n,
      cumulativeAmount: cumulative,
      jobsRoot: `0x${'00'.repeat(32)}` as const,
    }
    const signature = await createVoucherVault(requesterChain, market.deployment.vault).signVoucher(terms)
    const redeemed = await createVoucherVault(providerChain, market.deployment.vault).redeem([
      { voucher: terms, signature },
    ])
    assert.equal(redeemed.paid, cumulative)

    const after = await market.bazaarText(['job', 'status', id, '--api', api])
    assert.match(
      after,
      /payment {6}voucher \(redeemed: the provider was paid on-chain by the voucher\)/,
      after,
    )
    assert.ok(after.includes(`redeemed ${formatTokens(owed)}`), after)
    const list = await market.bazaarJson<JobView[]>(['job', 'list', '--api', api])
    assert.deepEqual(
      list.map((j) => j.voucher?.settlement),
      ['redeemed', 'redeemed'],
      'both jobs paid by the one redemption',
    )
    const paid = await providersOf()
    assert.deepEqual([paid?.earned, paid?.voucheredUnredeemed], [cumulative.toString(), '0'])
  })
})
