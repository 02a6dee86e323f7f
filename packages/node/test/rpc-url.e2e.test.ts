/**
 * `--rpc-url`: the same market code settling on a chain reached over JSON-RPC HTTP (here the
 * embedded chain served by `serveJsonRpc`, as `bazaar devnet` does) instead of in-process.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type EmbeddedChain, type JsonRpcServer, serveJsonRpc, startEmbeddedChain } from '@bazaar/chain'
import pino from 'pino'
import { runDemo } from '../src/demo/run-demo.ts'

describe('market over a JSON-RPC chain', () => {
  let chain: EmbeddedChain
  let server: JsonRpcServer
  let dir: string

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 10 })
    server = await serveJsonRpc(chain.provider)
    dir = await mkdtemp(join(tmpdir(), 'bazaar-rpc-'))
  })

  after(async () => {
    await server?.close()
    await chain?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs and settles jobs through --rpc-url', async () => {
    const report = await runDemo({
      logger: pino({ level: 'silent' }),
      outputPath: join(dir, 'm.png'),
      columns: 2,
      rows: 1,
      rpcUrl: server.url,
    })
    assert.equal(report.ok, true, JSON.stringify(report.jobs.map((j) => [j.status, j.error])))
    for (const job of report.jobs) assert.ok(job.paid > 0n)
    // The transactions landed on the served chain, not on a private in-process one.
    const blockNumber = await chain.provider.request({ method: 'eth_blockNumber' })
    assert.ok(BigInt(blockNumber as string) > 10n)
  })
})
