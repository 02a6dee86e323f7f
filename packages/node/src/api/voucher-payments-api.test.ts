/**
 * What the requester's API says was paid for voucher jobs (issue #9): a job's `voucher.settlement`
 * and `redeemed` follow the vault's counters (a signed voucher is owed, not paid, until the
 * provider redeems it), and `/v1/providers` counts as `earned` only what was paid on-chain, with
 * the vouchered-but-unredeemed amount apart.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Address } from 'viem'
import {
  voucherPaymentsApi as api,
  claimProvider,
  onChainProvider,
  voucherProvider,
} from './voucher-api-fixture.ts'

interface JobBody {
  id: string
  payment: string
  paid?: string
  escrow?: string
  voucher?: { sequence: string; settlement: string; owed?: string; vouchered: string; redeemed?: string }
}
interface ProviderBody {
  address: string
  earned: string
  voucheredUnredeemed?: string
}

const paidThroughOne = new Map([
  [voucherProvider.toLowerCase(), { collected: 30n, paidThrough: 1n }],
  // A paid claim adds to `collected` but not to `paidThrough` (no voucher was redeemed).
  [claimProvider.toLowerCase(), { collected: 15n, paidThrough: 0n }],
])

describe('voucher payments in the requester API', () => {
  it('says per job whether its voucher was redeemed, only vouchered, owed or claimed', async () => {
    const { get, records, reads } = api(paidThroughOne)
    const { jobs } = await get<{ jobs: JobBody[] }>('/v1/jobs')
    const byId = new Map(jobs.map((j) => [j.id, j]))
    const [one, two, three, claimed] = records.map((r) => byId.get(r.jobId)?.voucher)
    assert.deepEqual(
      [one?.settlement, one?.owed, one?.vouchered, one?.redeemed],
      ['redeemed', '30', '30', '30'],
    )
    assert.deepEqual(
      [two?.settlement, two?.owed, two?.vouchered, two?.redeemed],
      ['vouchered', '20', '20', '0'],
    )
    assert.deepEqual(
      [three?.settlement, three?.owed, three?.vouchered, three?.redeemed],
      ['owed', '10', '0', '0'],
    )
    assert.deepEqual([claimed?.settlement, claimed?.redeemed], ['claimed', '15'])
    assert.equal(byId.get('7')?.payment, 'job-market')
    assert.equal(byId.get('7')?.voucher, undefined)
    assert.equal(reads.length, 2, 'one vault read per provider pair for the whole list')

    const single = await get<JobBody & { events: unknown[] }>(`/v1/jobs/${records[1]!.jobId}`)
    assert.equal(single.voucher?.settlement, 'vouchered')
    assert.ok(Array.isArray(single.events))
  })

  it('a voucher partly redeemed (escrow short) is not shown redeemed', async () => {
    const partly = new Map([[voucherProvider.toLowerCase(), { collected: 40n, paidThrough: 2n }]])
    const { get, records } = api(partly)
    const two = await get<JobBody>(`/v1/jobs/${records[1]!.jobId}`)
    assert.equal(two.voucher?.settlement, 'vouchered', 'collected 40 < the covering voucher 50')
    const one = await get<JobBody>(`/v1/jobs/${records[0]!.jobId}`)
    assert.equal(one.voucher?.settlement, 'redeemed')
  })

  it('counts as earned only what was paid on-chain; vouchered but unredeemed apart', async () => {
    const { get } = api(paidThroughOne)
    const { providers } = await get<{ providers: ProviderBody[] }>('/v1/providers')
    const of = (a: Address) => providers.find((p) => p.address.toLowerCase() === a.toLowerCase())
    assert.deepEqual(
      [of(onChainProvider)?.earned, of(onChainProvider)?.voucheredUnredeemed],
      ['300', undefined],
    )
    assert.deepEqual(
      [of(voucherProvider)?.earned, of(voucherProvider)?.voucheredUnredeemed],
      ['30', '20'],
      'redeemed 30 earned, 20 vouchered and not redeemed; the 10 not vouchered is in neither',
    )
    // The paid claim is in the vault's `collected` (15), and no voucher is outstanding there.
    assert.deepEqual([of(claimProvider)?.earned, of(claimProvider)?.voucheredUnredeemed], ['15', '0'])
  })

  it('without the vault: unknown redemption is not guessed, earned counts only known payments', async () => {
    const { get, records } = api('unreadable')
    const one = await get<JobBody>(`/v1/jobs/${records[0]!.jobId}`)
    assert.equal(one.voucher?.settlement, 'vouchered')
    assert.equal(one.voucher?.redeemed, undefined, 'unknown, not 0')
    const claimed = await get<JobBody>(`/v1/jobs/${records[3]!.jobId}`)
    assert.deepEqual([claimed.voucher?.settlement, claimed.voucher?.redeemed], ['claimed', '15'])
    const { providers } = await get<{ providers: ProviderBody[] }>('/v1/providers')
    const of = (a: Address) => providers.find((p) => p.address.toLowerCase() === a.toLowerCase())
    assert.deepEqual(
      [of(voucherProvider)?.earned, of(voucherProvider)?.voucheredUnredeemed],
      ['0', undefined],
    )
    assert.deepEqual([of(claimProvider)?.earned, of(claimProvider)?.voucheredUnredeemed], ['15', undefined])
  })

  it('/v1/node says how this requester pays its jobs', async () => {
    const { get } = api(paidThroughOne)
    const node = await get<{ payment?: string }>('/v1/node')
    assert.equal(node.payment, 'voucher')
  })
})
