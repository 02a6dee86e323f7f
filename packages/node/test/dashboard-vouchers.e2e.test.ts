/**
 * The dashboard with voucher jobs (issue #9), in headless Chromium over the real API on fake jobs
 * and a fake vault: each voucher job shows its payment kind and where it stands (owed, vouchered,
 * redeemed, claimed), its `paid` cell shows only what was paid on-chain, and providers show earned
 * apart from vouchered-but-unredeemed. Needs Debian's chromium; without it the test is reported
 * skipped.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { type ServerType, serve } from '@hono/node-server'
import { chromium } from 'playwright-core'
import {
  claimProvider,
  onChainProvider,
  voucherPaymentsApi,
  voucherProvider,
} from '../src/api/voucher-api-fixture.ts'

const CHROMIUM = '/usr/bin/chromium'

describe('dashboard with voucher jobs', () => {
  it('shows payment kind and state per job, and earned apart from unredeemed vouchers', async (t) => {
    if (!existsSync(CHROMIUM)) {
      t.skip(`no ${CHROMIUM}: install Debian's chromium (.ci/run does) to run the dashboard test`)
      return
    }
    // In hundredths of a BZR: sequence 1 of the voucher provider redeemed (0.3), 2 vouchered
    // (0.2), 3 owed (0.1); the claim provider's job paid by its claim (0.15); one JobMarket job
    // paid 3.
    const cent = 10n ** 16n
    const { app, records } = voucherPaymentsApi(
      new Map([
        [voucherProvider.toLowerCase(), { collected: 30n * cent, paidThrough: 1n }],
        [claimProvider.toLowerCase(), { collected: 15n * cent, paidThrough: 0n }],
      ]),
      cent,
    )
    const server = await new Promise<ServerType>((done) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => done(s))
    })
    const address = server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    })
    try {
      const page = await browser.newPage()
      await page.goto(url)
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 })
      const cell = async (id: string, selector: string) =>
        (await page.locator(`tr[data-job="${id}"] ${selector}`).textContent())?.trim()
      const [one, two, three, claimed] = records
      assert.equal(await cell(one!.jobId, 'td.payment'), 'voucher · redeemed')
      assert.equal(await cell(two!.jobId, 'td.payment'), 'voucher · vouchered')
      assert.equal(await cell(three!.jobId, 'td.payment'), 'voucher · owed')
      assert.equal(await cell(claimed!.jobId, 'td.payment'), 'voucher · claimed')
      assert.equal(await cell('7', 'td.payment'), 'job-market')
      // `paid` is what reached the provider on-chain; what is owed is in the cell's tooltip.
      const paid = async (id: string) => {
        const td = page.locator(`tr[data-job="${id}"] td.paid`)
        return [(await td.textContent())?.trim(), await td.getAttribute('title')]
      }
      assert.deepEqual(await paid(one!.jobId), ['0.3 BZR', 'owed 0.3 BZR'])
      assert.deepEqual(await paid(two!.jobId), ['0 BZR', 'owed 0.2 BZR'], 'vouchered is not paid')
      assert.deepEqual(await paid(three!.jobId), ['0 BZR', 'owed 0.1 BZR'])
      assert.deepEqual(await paid(claimed!.jobId), ['0.15 BZR', 'owed 0.15 BZR'])
      assert.deepEqual(await paid('7'), ['3 BZR', null])
      const provider = async (a: string) => {
        const row = page.locator(`tr[data-provider="${a}"]`)
        return [
          (await row.locator('td.earned').textContent())?.trim(),
          (await row.locator('td.unredeemed').textContent())?.trim(),
        ]
      }
      assert.deepEqual(await provider(voucherProvider), ['0.3 BZR', '0.2 BZR'])
      assert.deepEqual(await provider(claimProvider), ['0.15 BZR', '0 BZR'])
      assert.deepEqual(await provider(onChainProvider), ['3 BZR', '–'])
    } finally {
      await browser.close()
      await new Promise<void>((done) => server.close(() => done()))
    }
  })
})
