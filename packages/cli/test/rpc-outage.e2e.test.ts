/**
 * Chain RPC outage on the multi-process market (docs/reliability.md, "Failure model"): the
 * requester and provider daemons reach the devnet's JSON-RPC port only through a TCP proxy
 * (harness/tcp-proxy.ts). While jobs are in flight the proxy is cut (every connection destroyed,
 * new ones refused) for several seconds, then restored on the same port. The daemons must stay
 * up, every job must end completed or refunded in full, the balances must reconcile exactly
 * (load-run's invariants) and no provider, all honest here, may lose stake. The test's own
 * balance checks talk to the devnet directly, so they are not affected by the cut.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ApiError, createBazaarClient, type JobView } from '@bazaar/sdk'
import { loadViolations } from './harness/load-run.ts'
import { type NodeProcess, ProcessMarket, repoRoot, waitFor } from './harness/process-market.ts'
import { startTcpProxy, type TcpProxy } from './harness/tcp-proxy.ts'

const JOBS = 8
const OUTAGE_MS = 6_000

/** A ProcessMarket whose daemons use the chain through a proxy the test can cut. */
class ProxiedMarket extends ProcessMarket {
  proxy?: TcpProxy

  private async proxied<T>(start: () => Promise<T>): Promise<T> {
    if (!this.proxy) {
      const url = new URL(this.devnet.rpcUrl)
      this.proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    }
    const direct = this.chainArgs
    this.chainArgs = [
      '--rpc-url',
      `http://127.0.0.1:${this.proxy.port}`,
      '--deployment',
      this.devnet.deploymentFile,
    ]
    try {
      return await start()
    } finally {
      this.chainArgs = direct
    }
  }

  override startRequester(): Promise<NodeProcess> {
    return this.proxied(() => super.startRequester())
  }

  override startProvider(index: number, extraEnv: Record<string, string> = {}): Promise<NodeProcess> {
    return this.proxied(() => super.startProvider(index, extraEnv))
  }

  override async stop(): Promise<void> {
    await super.stop()
    await this.proxy?.close()
  }
}

describe('chain RPC outage: the daemons lose their JSON-RPC endpoint mid-job', () => {
  let dir: string
  let market: ProxiedMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-rpc-outage-'))
    market = new ProxiedMarket({
      dir,
      providers: 2,
      providerCores: 2,
      requesterConfig: ['requester:', '  maxAnnouncements: 20'],
    })
    try {
      await market.start()
    } catch (err) {
      await market.stop()
      throw err
    }
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('the daemons stay up, every job ends completed or refunded, balances reconcile exactly', async (t) => {
    const daemons = [market.requester, ...market.providers]
    const exits: string[] = []
    for (const [i, d] of daemons.entries())
      d.child.once('exit', (code, signal) => exits.push(`daemon ${i} exited (${code ?? signal})`))
    const logs = () => daemons.map((d, i) => `--- daemon ${i}\n${d.logs().slice(-4000)}`).join('\n')
    const client = createBazaarClient({ url: market.requester.ready.api, timeoutMs: 120_000 })
    const module = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/wordcount.wasm')))
    const { cid } = await client.uploadBlob(module)
    const proxy = market.proxy!
    const before = await market.snapshot()

    // A client that retries a submission the node refused because the chain was unreachable
    // (E_CHAIN, nothing escrowed: the balance check below would see escrow left otherwise).
    const refused: string[] = []
    const views: JobView[] = []
    let next = 0
    const worker = async () => {
      for (;;) {
        const index = next++
        if (index >= JOBS) return
        let id: string | undefined
        while (id === undefined) {
          try {
            id = (await client.submit(spec(cid, index))).id
          } catch (err) {
            if (!(err instanceof ApiError) || err.code !== 'E_CHAIN') throw err
            refused.push(err.message)
            await new Promise((r) => setTimeout(r, 500))
          }
        }
        // Polled rather than watched: a job stuck by the outage fails the test with its timeline.
        const jobId = id
        views[index] = await waitFor(
          `job ${jobId} to end`,
          async () => {
            const v = await client.getJob(jobId)
            return v.state === 'running' ? undefined : v
          },
          150_000,
          500,
        ).catch(async (err: unknown) => {
          const stuck = await client.getJob(jobId).catch(() => undefined)
          throw new Error(`${(err as Error).message}: ${JSON.stringify(stuck)}\n${logs()}`)
        })
      }
    }
    const load = Promise.all(Array.from({ length: 3 }, worker))
    // Fail fast (not as an unhandled rejection) if the load breaks while the proxy is cut.
    const failed = load.then(
      () => undefined,
      (err: unknown) => err,
    )
    // Cut once the market is warm (a job has gone all the way through), with others in flight.
    await waitFor('a first job to end', async () => (views.some(Boolean) ? true : undefined), 120_000, 100)
    const acceptedBeforeCut = proxy.accepted
    const inFlight = next - views.filter(Boolean).length
    await proxy.cut()
    await new Promise((r) => setTimeout(r, OUTAGE_MS))
    await proxy.restore()
    const err = await failed
    if (err) throw err
    const after = await market.snapshot()

    assert.ok(acceptedBeforeCut > 0, 'the daemons reach the chain through the proxy')
    assert.ok(inFlight > 0, 'jobs were in flight when the proxy was cut')
    assert.ok(proxy.accepted > acceptedBeforeCut, 'the daemons reconnected after the outage')
    assert.deepEqual(exits, [], logs())
    const run = { views, before, after, latenciesMs: [], elapsedMs: 0, gas: 0n, transactions: 0 }
    assert.deepEqual(
      loadViolations({ ...run, peakRss: { devnet: 0, requester: 0, providers: [] } }),
      [],
      logs(),
    )
    assert.equal(views.filter(Boolean).length, JOBS)
    for (const d of daemons) assert.equal(d.child.exitCode, null, 'daemon still running')
    t.diagnostic(
      `submissions refused during the outage (E_CHAIN, retried by the client): ${refused.length}; states: ${views.map((v) => v.state).join(',')}`,
    )
  })
})

/** A tiny word count whose input differs per job (as load-run's). */
function spec(moduleCid: string, index: number): object {
  return {
    version: 1,
    name: `rpc-outage-${index}`,
    runtime: 'wasm',
    module: { cid: moduleCid },
    args: ['in.txt'],
    env: { LANG: 'C' },
    inputs: [{ name: 'in.txt', text: `job ${index} counts these words while the chain is away` }],
    resources: { cores: 1, memoryMb: 16 },
    limits: { fuel: '5000000', timeoutMs: 30_000, outputBytes: 65_536 },
    price: { maxPerFuel: '5000000000' },
  }
}
