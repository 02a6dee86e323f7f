/**
 * Fault injection on the multi-process market (docs/reliability.md, "Failure model"): a provider
 * daemon is killed with SIGKILL and NOT restarted, once while it runs a job and once after it
 * committed (held before its reveal by the test-only BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS). After
 * the on-chain deadline the requester reclaims the escrow, the dead provider's collateral is
 * slashed to the requester, and only that provider loses stake. Each job's price cap lets
 * exactly one provider qualify, so the victim is known in advance; a third provider is a
 * bystander whose stake must not move.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createBazaarClient, type JobView } from '@bazaar/sdk'
import {
  kill9,
  type MarketSnapshot,
  type ProcessMarket,
  repoRoot,
  startProcessMarket,
  waitFor,
  waitForJobEnd,
} from './harness/process-market.ts'

const GWEI = 1_000_000_000n
// Floors: provider 0 asks 1 gwei per fuel, provider 1 1.01 gwei, provider 2 1.02 gwei.
const prices = [GWEI, GWEI + 10_000_000n, GWEI + 20_000_000n]

describe('fault injection: a provider killed with SIGKILL, during execution, after its commit, or mid-transfer', () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-faults-'))
    market = await startProcessMarket({
      dir,
      providers: 3,
      providerPrice: (i) => prices[i]!,
      // Provider 1 stops between its commit and its reveal for longer than the test; provider 2
      // stops halfway through every blob it serves (its results), until it is restarted.
      providerEnv: (i): Record<string, string> =>
        i === 1
          ? { BAZAAR_TEST_PAUSE_BEFORE_REVEAL_MS: '600000' }
          : i === 2
            ? { BAZAAR_TEST_STALL_SERVE_MS: '600000' }
            : {},
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const providerJobs = (index: number) => market.providerJobs(index)

  /** The job ended refunded for a missed deadline; the victim alone paid for it, exactly. */
  function assertSlashedOnly(victim: number, view: JobView, before: MarketSnapshot, after: MarketSnapshot) {
    assert.equal(view.state, 'refunded', JSON.stringify(view))
    assert.equal(view.error?.code, 'E_TIMEOUT')
    assert.equal(view.provider?.toLowerCase(), market.providerAccounts[victim]!.address.toLowerCase())
    assert.equal(view.paid, '0')
    assert.equal(view.refunded, view.escrow)
    const slashed = before.providers[victim]!.staked - after.providers[victim]!.staked
    assert.ok(slashed > 0n, 'the provider that vanished was slashed')
    // Escrow back in full, plus the slashed collateral as compensation.
    assert.equal(after.requester - before.requester, slashed)
    assert.equal(before.registry - after.registry, slashed)
    assert.equal(after.market, before.market, 'no escrow left in the market')
    for (const [i, p] of after.providers.entries()) {
      assert.equal(p.locked, 0n, `provider ${i} has no collateral left locked`)
      assert.equal(p.tokens, before.providers[i]!.tokens, `provider ${i} was paid nothing`)
      if (i !== victim) assert.equal(p.staked, before.providers[i]!.staked, `provider ${i} was not slashed`)
    }
  }

  it('killed while executing: after the deadline the requester is refunded and only it is slashed', async () => {
    const client = createBazaarClient({ url: market.requester.ready.api })
    const spin = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/spin.wasm')))
    const { cid } = await client.uploadBlob(spin)
    const before = await market.snapshot()
    const submitted = await client.submit({
      version: 1,
      name: 'spin-until-killed',
      runtime: 'wasm',
      module: { cid },
      // Far more fuel and time than the test lasts: only the kill ends this run.
      limits: { fuel: '10000000000', timeoutMs: 600_000 },
      // Only provider 0 (1 gwei) is under this cap.
      price: { maxPerFuel: '1005000000' },
      deadlines: { biddingMs: 1000, executionSeconds: 10 },
    })
    await waitFor('provider 0 to run the job', async () =>
      (await providerJobs(0)).find((j) => j.jobId === submitted.id && j.phase === 'running' && !j.fuelUsed),
    )
    await kill9(market.providers[0]!.child)
    const view = await waitForJobEnd(client, submitted.id)
    assertSlashedOnly(0, view, before, await market.snapshot())
  })

  it('killed after its commit, before its reveal: refunded after the deadline, only it slashed', async () => {
    const client = createBazaarClient({ url: market.requester.ready.api })
    const module = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/wordcount.wasm')))
    const { cid } = await client.uploadBlob(module)
    const before = await market.snapshot()
    const submitted = await client.submit({
      version: 1,
      name: 'vanish-after-commit',
      runtime: 'wasm',
      module: { cid },
      args: ['in.txt'],
      env: { LANG: 'C' },
      inputs: [{ name: 'in.txt', text: 'committed but never revealed' }],
      limits: { fuel: '5000000' },
      // Provider 0 is dead; only provider 1 (1.01 gwei) is under this cap, not provider 2.
      price: { maxPerFuel: '1015000000' },
      deadlines: { biddingMs: 1000, executionSeconds: 10 },
    })
    await waitFor('provider 1 to commit', async () =>
      (await providerJobs(1)).find((j) => j.jobId === submitted.id && j.phase === 'committed'),
    )
    await kill9(market.providers[1]!.child)
    const view = await waitForJobEnd(client, submitted.id)
    assert.ok(view.events?.some((e) => e.type === 'committed'))
    assert.ok(!view.events?.some((e) => e.type === 'revealed'))
    assertSlashedOnly(1, view, before, await market.snapshot())
  })

  it('killed while sending its result, then restarted: the requester fetches it again, pays, nobody slashed', async () => {
    const client = createBazaarClient({ url: market.requester.ready.api })
    const module = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/wordcount.wasm')))
    const { cid } = await client.uploadBlob(module)
    const before = await market.snapshot()
    const submitted = await client.submit({
      version: 1,
      name: 'killed-mid-transfer',
      runtime: 'wasm',
      module: { cid },
      args: ['in.txt'],
      env: { LANG: 'C' },
      inputs: [{ name: 'in.txt', text: 'the provider dies while these words travel back' }],
      limits: { fuel: '5000000' },
      // Providers 0 and 1 are dead by now; provider 2 (1.02 gwei) is under this cap.
      price: { maxPerFuel: '1025000000' },
      deadlines: { biddingMs: 1000, executionSeconds: 10 },
    })
    const victim = market.providers[2]!
    await waitFor('provider 2 to stall halfway through its result', async () =>
      victim.logs().includes('test: stalling data transfer') ? true : undefined,
    )
    await kill9(victim.child)
    // Same data dir, no stall: the revealed result is still in its store.
    await market.startProvider(2, { BAZAAR_TEST_STALL_SERVE_MS: '' })
    const view = await waitForJobEnd(client, submitted.id)
    assert.equal(view.state, 'completed', JSON.stringify(view))
    assert.equal(view.provider?.toLowerCase(), market.providerAccounts[2]!.address.toLowerCase())
    const paid = BigInt(view.paid!)
    assert.ok(paid > 0n)
    assert.equal(paid, BigInt(view.fuelUsed!) * BigInt(view.pricePerFuel!))
    assert.match(new TextDecoder().decode(await client.output(submitted.id)), /"words":/)
    const after = await market.snapshot()
    assert.equal(after.providers[2]!.tokens - before.providers[2]!.tokens, paid, 'the provider was paid once')
    assert.equal(before.requester - after.requester, paid, 'the requester paid exactly that')
    assert.equal(after.market, before.market, 'no escrow left in the market')
    for (const [i, p] of after.providers.entries()) {
      assert.equal(p.staked, before.providers[i]!.staked, `provider ${i} was not slashed`)
      assert.equal(p.locked, 0n, `provider ${i} has no collateral left locked`)
    }
  })
})
