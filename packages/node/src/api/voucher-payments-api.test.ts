/**
 * What the requester's API says was paid for voucher jobs (issue #9): a job's `voucher.settlement`
 * and `redeemed` follow the vault's counters (a signed voucher is owed, not paid, until the
 * provider redeems it), and `/v1/providers` counts as `earned` only what was paid on-chain, with
 * the vouchered-but-unredeemed amount apart.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { voucherJobId } from '@bazaar/protocol'
import { pino } from 'pino'
import type { Address, Hex } from 'viem'
import type { JobTracker, TrackedJob } from '../requester/job-tracker.ts'
import type { RequesterService } from '../requester/requester-service.ts'
import type { VoucherJobRecord } from '../store/voucher-repo.ts'
import { type VoucherChannelState, voucherJobView } from '../vouchers/voucher-job-view.ts'
import type { VoucherRequester } from '../vouchers/voucher-requester.ts'
import { createHttpApp, type HttpApiComponents } from './http-api.ts'

const me = '0x1111111111111111111111111111111111111111' as Address
const onChainProvider = '0xaAaAaAaaAaAaAaaAaAAAAAAAAAAaaaaAAAaAaaAa' as Address
const voucherProvider = '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' as Address
const claimProvider = '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' as Address
const vault = '0x3333333333333333333333333333333333333333' as Address
const PRICE = 3n

function voucherRecord(
  provider: Address,
  sequence: bigint,
  phase: VoucherJobRecord['phase'],
  extra: Partial<VoucherJobRecord> = {},
): VoucherJobRecord {
  return {
    role: 'requester',
    jobId: voucherJobId(
      me,
      `0x${(sequence + (provider === claimProvider ? 100n : 0n)).toString(16).padStart(64, '0')}` as Hex,
    ).toString(),
    phase,
    award: {
      requester: me,
      provider,
      sequence,
      pricePerFuel: PRICE,
      maxFuel: 1_000n,
      specHash: `0x${'aa'.repeat(32)}` as Hex,
      resultDeadline: 100n,
      claimDeadline: 200n,
    },
    awardSignature: '0x' as Hex,
    ...extra,
  }
}

function tracked(id: string, provider: Address, fuelUsed: bigint, paid: bigint, escrow: bigint): TrackedJob {
  return {
    id,
    name: `job-${id.slice(0, 6)}`,
    state: 'completed',
    submittedAt: 1,
    events: [{ type: 'awarded', jobId: BigInt(id), provider, pricePerFuel: PRICE, bids: 1, at: 1 } as never],
    outcome: {
      jobId: BigInt(id),
      status: 'completed',
      provider,
      pricePerFuel: PRICE,
      fuelUsed,
      escrow,
      paid,
      refunded: escrow - paid,
      gasUsed: 0n,
      bidsReceived: 1,
    } as TrackedJob['outcome'],
    error: undefined,
  }
}

/**
 * Five jobs: one settled on JobMarket (paid 300), three by voucher to one provider (sequence 1
 * vouchered for 30, 2 for 20 more, cumulative 50; 3 verified for 10, no voucher yet), and one to
 * another provider whose claim was paid (15). The vault has paid the voucher provider 30 through
 * sequence 1: sequence 1 is redeemed, 2 is only vouchered.
 */
function api(channels: Map<string, VoucherChannelState> | 'unreadable') {
  const records = [
    voucherRecord(voucherProvider, 1n, 'vouchered', {
      amount: 30n,
      fuelUsed: 10n,
      voucheredBy: { paidThroughSequence: 1n, cumulativeAmount: 30n },
    }),
    voucherRecord(voucherProvider, 2n, 'vouchered', {
      amount: 20n,
      voucheredBy: { paidThroughSequence: 2n, cumulativeAmount: 50n },
    }),
    voucherRecord(voucherProvider, 3n, 'verified', { amount: 10n }),
    voucherRecord(claimProvider, 1n, 'verified', {
      amount: 15n,
      claim: { claimId: `0x${'cc'.repeat(32)}`, amount: 15n, seenAt: 1, disputed: false, status: 'Paid' },
    }),
  ]
  const jobs = [
    tracked('7', onChainProvider, 100n, 300n, 3_000n),
    ...records.map((r) => tracked(r.jobId, r.award.provider, (r.amount ?? 0n) / PRICE, r.amount ?? 0n, 0n)),
  ]
  const requester = {
    address: me,
    describe: (id: string) => {
      const r = records.find((x) => x.jobId === id)
      return r ? voucherJobView(r, vault) : undefined
    },
    stats: () => ({
      vouchersSigned: 0,
      voucheredAmount: 0n,
      jobs: new Map(),
      claimsSeen: 0,
      claimsDisputed: 0,
      claimsPaid: 0,
      gasUsed: 0n,
    }),
  } as unknown as VoucherRequester
  const reads: string[] = []
  const app = createHttpApp({
    tracker: {
      list: () => jobs,
      get: (id: string) => jobs.find((j) => j.id === id),
      countByState: () => new Map(),
    } as unknown as JobTracker,
    requester: { offers: { active: () => [] } } as unknown as RequesterService,
    store: {} as HttpApiComponents['store'],
    chain: { address: me } as unknown as HttpApiComponents['chain'],
    network: {
      peerId: 'peer',
      multiaddrs: () => [],
      misbehaviour: () => ({ reports: {}, bans: 0, banned: 0 }),
    } as unknown as HttpApiComponents['network'],
    logger: pino({ level: 'silent' }),
    balance: async () => 0n,
    stakeOf: async () => 0n,
    vouchers: {
      requester,
      channels: async (v, requesterAddress, provider) => {
        reads.push(`${v}:${requesterAddress}:${provider}`)
        if (channels === 'unreadable') throw new Error('chain unreachable')
        return channels.get(provider.toLowerCase()) ?? { collected: 0n, paidThrough: 0n }
      },
    },
  })
  const get = async <T>(path: string) => {
    const res = await app.request(path)
    assert.equal(res.status, 200, path)
    return (await res.json()) as T
  }
  return { get, records, reads }
}

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
