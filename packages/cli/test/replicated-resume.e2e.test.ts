/**
 * A replicated job survives a requester restart (docs/reliability.md, docs/verification.md):
 * on the multi-process market (devnet, a requester and two provider daemons), a k=2 job is
 * linked into its court case and both replicas commit; the providers are held before their
 * reveals (test-only pause) while the requester is killed with SIGKILL and started again on its
 * data dir. The restarted requester finds the case on its stored timeline, waits for the reveals,
 * has the court settle the case, fetches and verifies the result: both providers paid exactly
 * fuel x price, nobody slashed, every token accounted for.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createBazaarClient } from '@bazaar/sdk'
import {
  kill9,
  type ProcessMarket,
  repoRoot,
  startProcessMarket,
  waitFor,
  waitForJobEnd,
} from './harness/process-market.ts'

describe('a replicated job resumed after a requester restart', () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-replicated-resume-'))
    market = await startProcessMarket({
      dir,
      providers: 2,
      // Long enough to kill and restart the requester between the commits and the reveals.
      providerEnv: () => ({ BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS: '8000' }),
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const providerJobs = (index: number) => market.providerJobs(index)

  it('settles the case, verifies the result and pays both replicas exactly', async () => {
    const client = createBazaarClient({ url: market.requester.ready.api })
    const module = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/wordcount.wasm')))
    const { cid } = await client.uploadBlob(module)
    const before = await market.snapshot()
    const submitted = await client.submit({
      version: 1,
      name: 'replicated-across-a-restart',
      runtime: 'wasm',
      module: { cid },
      args: ['in.txt'],
      env: { LANG: 'C' },
      inputs: [{ name: 'in.txt', text: 'two replicas and a requester that comes back' }],
      limits: { fuel: '5000000' },
      price: { maxPerFuel: '2000000000' },
      verification: { mode: 'replicated', k: 2 },
      deadlines: { biddingMs: 1000, executionSeconds: 60 },
    })
    for (const i of [0, 1]) {
      await waitFor(`provider ${i} to commit its replica`, async () =>
        (await providerJobs(i)).find((j) => j.phase === 'committed'),
      )
    }
    const beforeKill = await client.getJob(submitted.id)
    assert.ok(beforeKill.events?.some((e) => e.type === 'replicas-linked'))
    assert.ok(!beforeKill.events?.some((e) => e.type === 'revealed'), 'killed before any reveal')
    await kill9(market.requester.child)

    // Same data dir; it finds the providers through its bootstrap list, as a real node would.
    market.requester = await market.startRequester([
      'bootstrap:',
      ...market.providers.map((p) => `  - ${p.ready.multiaddrs[0]}`),
    ])
    const resumed = createBazaarClient({ url: market.requester.ready.api })
    const view = await waitForJobEnd(resumed, submitted.id, 180_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrequester log:\n${market.requester.logs()}`)
    })
    assert.equal(
      view.state,
      'completed',
      `${JSON.stringify(view)}\nrequester log:\n${market.requester.logs()}`,
    )
    const types = (view.events ?? []).map((e) => e.type)
    for (const step of ['replicas-linked', 'revealed', 'replicas-settled', 'verified', 'finalized']) {
      assert.ok(types.includes(step), `no ${step} in ${types.join(', ')}`)
    }
    const output = await fetch(`${market.requester.ready.api}/v1/jobs/${submitted.id}/output`)
    assert.equal(output.status, 200)
    assert.match(await output.text(), /"words":/)

    // Money: each provider earned exactly its replica's fuel x price, the requester paid exactly
    // that in total, nobody was slashed, and nothing is left in the market.
    const after = await market.snapshot()
    const fuel = BigInt(view.fuelUsed!)
    let earned = 0n
    for (const [i, p] of after.providers.entries()) {
      const gained = p.tokens - before.providers[i]!.tokens
      const job = (await providerJobs(i)).find((j) => j.fuelUsed !== undefined && BigInt(j.fuelUsed) === fuel)
      assert.ok(job, `provider ${i} ran a replica`)
      assert.ok(gained > 0n, `provider ${i} was paid`)
      assert.equal(gained % fuel, 0n, `provider ${i} was paid a whole price per fuel`)
      assert.equal(p.staked, before.providers[i]!.staked, `provider ${i} was not slashed`)
      earned += gained
    }
    assert.equal(before.requester - after.requester, earned)
    assert.equal(BigInt(view.paid!), earned)
    assert.equal(BigInt(view.refunded!), BigInt(view.escrow!) - earned)
    assert.equal(after.market, 0n, 'no escrow left in the market')
  })
})
