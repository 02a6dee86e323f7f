/**
 * TEST SUPPORT: a requester's API (the real `createHttpApp`) over fake jobs and a fake vault, for
 * the voucher payment tests and the OpenAPI conformance test.
 */
import assert from 'node:assert/strict'
import { voucherJobId } from '@bazaar/protocol'
import { pino } from 'pino'
import type { Address, Hex } from 'viem'
import type { JobTracker, TrackedJob } from '../requester/job-tracker.ts'
import type { RequesterService } from '../requester/requester-service.ts'
import type { VoucherJobRecord } from '../store/voucher-repo.ts'
import { type VoucherChannelState, voucherJobView } from '../vouchers/voucher-job-view.ts'
import type { VoucherRequester } from '../vouchers/voucher-requester.ts'
import { createHttpApp, type HttpApiComponents } from './http-api.ts'

export const me = '0x1111111111111111111111111111111111111111' as Address
export const onChainProvider = '0xaAaAaAaaAaAaAaaAaAAAAAAAAAAaaaaAAAaAaaAa' as Address
export const voucherProvider = '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' as Address
export const claimProvider = '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' as Address
const vault = '0x3333333333333333333333333333333333333333' as Address
const PRICE = 3n

function voucherRecord(
  provider: Address,
  sequence: bigint,
  phase: VoucherJobRecord['phase'],
  extra: Partial<VoucherJobRecord> = {},
): VoucherJobRecord {
  const jobId = voucherJobId(
    me,
    `0x${(sequence + (provider === claimProvider ? 100n : 0n)).toString(16).padStart(64, '0')}` as Hex,
  )
  return {
    role: 'requester',
    jobId: jobId.toString(),
    phase,
    award: {
      jobId,
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

function tracked(
  id: string,
  provider: Address,
  fuelUsed: bigint,
  paid: bigint,
  escrow: bigint,
  later: TrackedJob['events'] = [],
): TrackedJob {
  return {
    id,
    name: `job-${id.slice(0, 6)}`,
    state: 'completed',
    submittedAt: 1,
    events: [
      { type: 'created', jobId: BigInt(id), escrow, at: 1 },
      { type: 'awarded', jobId: BigInt(id), provider, pricePerFuel: PRICE, bids: 1, at: 2 },
      { type: 'finalized', jobId: BigInt(id), paid, refunded: escrow - paid, at: 3 },
      ...later,
    ],
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
export function voucherPaymentsApi(
  channels: Map<string, VoucherChannelState> | 'unreadable',
  /** Every amount is this many base units times the figure above (1e16: 0.01 BZR, for the page). */
  unit = 1n,
) {
  const records = [
    voucherRecord(voucherProvider, 1n, 'vouchered', {
      amount: 30n * unit,
      fuelUsed: 10n,
      voucheredBy: { paidThroughSequence: 1n, cumulativeAmount: 30n * unit },
    }),
    voucherRecord(voucherProvider, 2n, 'vouchered', {
      amount: 20n * unit,
      voucheredBy: { paidThroughSequence: 2n, cumulativeAmount: 50n * unit },
    }),
    voucherRecord(voucherProvider, 3n, 'verified', { amount: 10n * unit }),
    voucherRecord(claimProvider, 1n, 'verified', {
      amount: 15n * unit,
      claim: {
        claimId: `0x${'cc'.repeat(32)}`,
        amount: 15n * unit,
        seenAt: 1,
        disputed: false,
        status: 'Paid',
      },
    }),
  ]
  const jobs = [
    tracked('7', onChainProvider, 100n, 300n * unit, 3_000n * unit),
    ...records.map((r) => {
      const jobId = BigInt(r.jobId)
      // The voucher steps of the timeline, as the voucher path records them.
      const later: TrackedJob['events'] = []
      if (r.voucheredBy)
        later.push({
          type: 'voucher-signed',
          jobId,
          sequence: r.award.sequence,
          amount: r.amount ?? 0n,
          ...r.voucheredBy,
          at: 4,
        })
      if (r.claim) {
        const { claimId, amount, disputed } = r.claim
        later.push({ type: 'claim-filed', jobId, claimId, amount, disputed, at: 5 })
        if (r.claim.status)
          later.push({ type: 'claim-finalized', jobId, claimId, amount, status: r.claim.status, at: 6 })
      }
      return tracked(r.jobId, r.award.provider, (r.amount ?? 0n) / PRICE, r.amount ?? 0n, 0n, later)
    }),
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
  return { app, get, records, reads }
}
