/**
 * The dashboard in headless Chromium against a running local market: it must show the
 * jobs, what was paid, the clearing prices and the providers, as the API reports them.
 * Needs Debian's chromium (installed by .ci/run); without it the test is reported skipped.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { chromium } from 'playwright-core'
import { startHttpApi } from '../src/api/http-api.ts'
import { demoProviders, examplesBuildDir } from '../src/demo/run-demo.ts'
import { startLocalMarket } from '../src/local-market.ts'
import { JobTracker, type TrackedJob } from '../src/requester/job-tracker.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'

const CHROMIUM = '/usr/bin/chromium'
const outputDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-output')

/** The page shows amounts truncated to 6 decimals, trailing zeros dropped. */
function truncatedTokens(amount: bigint): string {
  const unit = 10n ** 18n
  const fraction = (amount % unit).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '')
  return `${amount / unit}${fraction ? `.${fraction}` : ''}`
}

describe('dashboard', () => {
  it('shows jobs, payments, prices and providers of a running market', async (t) => {
    if (!existsSync(CHROMIUM)) {
      t.skip(`no ${CHROMIUM}: install Debian's chromium (.ci/run does) to run the dashboard test`)
      return
    }
    const logger = pino({ level: 'silent' })
    const market = await startLocalMarket({ providers: demoProviders, logger })
    const tracker = new JobTracker(market.requester.requester!)
    const api = await startHttpApi({
      tracker,
      requester: market.requester.requester!,
      registry: market.admin,
      store: market.requester.store,
      chain: market.requester.chain,
      network: market.requester.network,
      logger,
      balance: () => market.admin.balanceOf(market.requester.chain.address),
      stakeOf: (provider) => market.admin.stakeOf(provider),
    })
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    })
    try {
      const module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
      const moduleCid = await cidOf(module)
      const finished = []
      for (const text of ['one two three', 'a b a b c']) {
        const spec = validateJobSpec({
          version: 1,
          name: 'dash-wordcount',
          runtime: 'wasm',
          module: { cid: moduleCid },
          args: ['in.txt'],
          env: { LANG: 'C' },
          inputs: [{ name: 'in.txt', text }],
          limits: { fuel: '50000000' },
          price: { maxPerFuel: '5000000000' },
          deadlines: { biddingMs: 300, executionSeconds: 60 },
        })
        const job = await tracker.submit(
          await prepareJob(spec, { baseDir: '/', known: new Map([[moduleCid, module]]) }),
        )
        await new Promise<void>((done) => tracker.follow(job.id, (e) => e.type === 'end' && done()))
        finished.push(tracker.get(job.id)!)
      }
      assert.ok(finished.every((j) => j.state === 'completed'))

      const page = await browser.newPage()
      await page.goto(api.url)
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 })
      await page.waitForFunction(() => document.querySelectorAll('#jobs tr').length === 2, undefined, {
        timeout: 10_000,
      })
      for (const job of finished) {
        const row = page.locator(`tr[data-job="${job.id}"]`)
        assert.equal((await row.locator('td').nth(2).textContent())?.trim(), 'completed')
        assert.equal(await row.locator('.step.done').count(), 7, 'every step of the timeline is done')
        const paid = (await row.locator('td.paid').textContent())?.trim()
        assert.equal(paid, `${truncatedTokens(job.outcome!.paid)} BZR`)
      }
      assert.equal(await page.locator('circle.price-point').count(), 2)
      const winners = new Set(finished.map((j) => j.outcome!.provider!.toLowerCase()))
      for (const winner of winners) {
        assert.equal(
          await page
            .locator(
              `tr[data-provider="${finished.find((j) => j.outcome!.provider!.toLowerCase() === winner)!.outcome!.provider}"]`,
            )
            .count(),
          1,
        )
      }
      // Every provider with an offer is listed with its stake and on-chain reputation.
      assert.equal(await page.locator('tr[data-provider]').count(), market.providers.length)
      for (const p of market.providers) {
        const row = page.locator(`tr[data-provider="${p.chain.address}"]`)
        assert.equal((await row.locator('td.stake').textContent())?.trim(), '100 BZR')
        assert.equal((await row.locator('td.locked').textContent())?.trim(), '0 BZR')
        const won: TrackedJob[] = finished.filter(
          (j) => j.outcome!.provider!.toLowerCase() === p.chain.address.toLowerCase(),
        )
        assert.equal((await row.locator('td.record').textContent())?.trim(), `${won.length} / 0`)
        const score = Number((await row.locator('td.score').textContent())?.trim())
        assert.ok(
          won.length > 0 ? score > 0 : score === 0,
          `score ${score} for ${won.length} completed job(s)`,
        )
        assert.equal((await row.locator('td.standing').textContent())?.trim(), 'active')
      }
      assert.match((await page.locator('#balance').textContent()) ?? '', /BZR$/)
      // Every provider's signed offer is listed, cheapest floor first, with the depth summary.
      assert.equal(await page.locator('tr[data-offer]').count(), market.providers.length)
      const firstOffer = await page.locator('tr[data-offer]').first().getAttribute('data-offer')
      assert.equal(
        firstOffer?.toLowerCase(),
        market.providers[0]!.chain.address.toLowerCase(),
        'provider-a has the lowest floor',
      )
      assert.match((await page.locator('#depth').textContent()) ?? '', /^3 providers, 6 cores/)
      await mkdir(outputDir, { recursive: true })
      await page.screenshot({ path: resolve(outputDir, 'dashboard.png'), fullPage: true })
    } finally {
      await browser.close()
      await api.close()
      await market.stop()
    }
  })
})
