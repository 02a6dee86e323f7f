import { Counter, Gauge, type Registry } from 'prom-client'
import type { VoucherProviderStats } from './voucher-provider.ts'
import type { VoucherRequesterStats } from './voucher-requester.ts'

/**
 * Token base units as whole tokens for Prometheus: a float, about 15 significant digits (voucher
 * amounts are small: a 1e-6 rounding would hide them). The API keeps amounts exact.
 */
export function tokensOf(units: bigint): number {
  return Number(units) / 1e18
}

/** What the requester side exposes to the metrics (a VoucherRequester). */
export interface VoucherRequesterMetricsSource {
  stats(): VoucherRequesterStats
}

/** What the provider side exposes to the metrics (a VoucherProvider). */
export interface VoucherProviderMetricsSource {
  readonly stats: VoucherProviderStats
  exposures(): { requester: string; unvouchered: bigint; unredeemed: bigint }[]
}

/** One counter whose value is read at scrape time (reset, then set through `inc`). */
function scraped(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | [Record<string, string>, number][],
  labelNames: string[] = [],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset()
      const value = read()
      if (typeof value === 'number') this.inc(value)
      else for (const [labels, n] of value) this.inc(labels, n)
    },
  })
}

/**
 * The voucher path on /metrics (docs/vouchers.md), read at scrape time. Requester:
 * `bazaar_voucher_requester_*` (vouchers signed, tokens vouchered, jobs by phase, claims seen and
 * disputed, gas). Provider: `bazaar_voucher_provider_*` (messages received, accepted and refused
 * by reason, redemptions with their vouchers, jobs, tokens and gas, claims, and per requester the
 * unvouchered exposure and unredeemed vouchers). Token amounts are whole tokens (floats).
 */
export function registerVoucherMetrics(
  registry: Registry,
  sources: { requester?: VoucherRequesterMetricsSource; provider?: VoucherProviderMetricsSource },
): void {
  const { requester, provider } = sources
  if (requester) {
    scraped(
      registry,
      'bazaar_voucher_requester_vouchers_signed_total',
      'Cumulative vouchers this requester signed (each covers every job verified since the previous one)',
      () => requester.stats().vouchersSigned,
    )
    scraped(
      registry,
      'bazaar_voucher_requester_vouchered_tokens_total',
      'Tokens this requester has vouchered to providers in all (sum of the latest cumulative voucher per provider)',
      () => tokensOf(requester.stats().voucheredAmount),
    )
    scraped(
      registry,
      'bazaar_voucher_requester_claims_total',
      'Claims providers filed against this requester since start: seen, disputed (result did not verify), seen paid',
      () => {
        const s = requester.stats()
        return [
          [{ outcome: 'seen' }, s.claimsSeen],
          [{ outcome: 'disputed' }, s.claimsDisputed],
          [{ outcome: 'paid' }, s.claimsPaid],
        ]
      },
      ['outcome'],
    )
    scraped(
      registry,
      'bazaar_voucher_requester_gas_total',
      'Gas this requester spent on the voucher path since start (escrow deposits, disputes)',
      () => Number(requester.stats().gasUsed),
    )
    new Gauge({
      name: 'bazaar_voucher_requester_jobs',
      help: "This requester's voucher jobs by phase (awarded, verified, vouchered, rejected)",
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [phase, n] of requester.stats().jobs) this.set({ phase }, n)
      },
    })
  }
  if (provider) {
    const s = provider.stats
    const byKey = (map: Map<string, number>, label: string) =>
      [...map].map(([key, n]): [Record<string, string>, number] => [{ [label]: key }, n])
    scraped(
      registry,
      'bazaar_voucher_provider_messages_received_total',
      'Voucher-path messages received, by type (voucher-job, voucher-award, voucher)',
      () => byKey(s.received, 'type'),
      ['type'],
    )
    scraped(
      registry,
      'bazaar_voucher_provider_messages_accepted_total',
      'Voucher-path messages accepted, by type',
      () => byKey(s.accepted, 'type'),
      ['type'],
    )
    scraped(
      registry,
      'bazaar_voucher_provider_refused_total',
      'Voucher-path messages refused, by reason (the refusal code sent back)',
      () => byKey(s.refused, 'reason'),
      ['reason'],
    )
    scraped(
      registry,
      'bazaar_voucher_provider_redemptions_total',
      'Redeem transactions sent (each pays the latest voucher of several requesters)',
      () => s.redemptions,
    )
    scraped(
      registry,
      'bazaar_voucher_provider_redeemed_vouchers_total',
      'Vouchers paid by redemptions',
      () => s.redeemedVouchers,
    )
    scraped(
      registry,
      'bazaar_voucher_provider_redeemed_jobs_total',
      'Jobs newly covered by redemptions (divide by redemptions_total for jobs per redemption)',
      () => s.redeemedJobs,
    )
    scraped(
      registry,
      'bazaar_voucher_provider_redeemed_tokens_total',
      'Tokens the vault paid this provider through redemptions',
      () => tokensOf(s.redeemedValue),
    )
    scraped(registry, 'bazaar_voucher_provider_redeem_gas_total', 'Gas spent on redemptions', () =>
      Number(s.redeemGas),
    )
    scraped(
      registry,
      'bazaar_voucher_provider_claims_total',
      'On-chain claims for jobs no voucher covered (silent requesters): filed, and finalized paid',
      () => [
        [{ outcome: 'filed' }, s.claims],
        [{ outcome: 'paid' }, s.claimsPaid],
      ],
      ['outcome'],
    )
    new Gauge({
      name: 'bazaar_voucher_provider_vouchers_held',
      help: 'Requesters whose latest voucher this provider holds',
      registers: [registry],
      collect() {
        this.set(s.vouchersHeld)
      },
    })
    new Gauge({
      name: 'bazaar_voucher_provider_unvouchered_tokens',
      help: 'Per requester: work no voucher pays yet, delivered at its amount and running at its maximum (tokens)',
      labelNames: ['requester'],
      registers: [registry],
      collect() {
        this.reset()
        for (const e of provider.exposures()) this.set({ requester: e.requester }, tokensOf(e.unvouchered))
      },
    })
    new Gauge({
      name: 'bazaar_voucher_provider_unredeemed_tokens',
      help: 'Per requester: vouchers held but not redeemed yet (tokens)',
      labelNames: ['requester'],
      registers: [registry],
      collect() {
        this.reset()
        for (const e of provider.exposures()) this.set({ requester: e.requester }, tokensOf(e.unredeemed))
      },
    })
  }
}
