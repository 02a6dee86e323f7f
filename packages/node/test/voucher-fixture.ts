/**
 * Shared parts of the voucher-path e2e tests (docs/vouchers.md): a local market on real parts
 * (embedded EVM, libp2p on 127.0.0.1, SQLite, WASM) whose requester pays by vouchers, and a
 * small word-count job.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  devAccounts,
  type VerificationCourt,
} from '@bazaar/chain'
import { jobMarketAbi } from '@bazaar/contracts'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import type { Hex } from 'viem'
import { examplesBuildDir } from '../src/demo/run-demo.ts'
import type { LocalMarket } from '../src/local-market.ts'
import { type PreparedJob, prepareJob } from '../src/requester/prepare-job.ts'

export const GWEI = 1_000_000_000n

let wordcount: Uint8Array | undefined

/** A word-count job over `text` (real WASM, deterministic fuel), at most `maxPrice` per fuel. */
export async function wordcountJob(name: string, text: string, maxPrice = 3n * GWEI): Promise<PreparedJob> {
  wordcount ??= new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
  const moduleCid = await cidOf(wordcount)
  const spec = validateJobSpec({
    version: 1,
    name,
    runtime: 'wasm',
    module: { cid: moduleCid },
    args: ['in.txt'],
    env: { LANG: 'C' },
    inputs: [{ name: 'in.txt', text }],
    resources: { cores: 1, memoryMb: 64 },
    limits: { fuel: '50000000' },
    price: { maxPerFuel: maxPrice.toString() },
    deadlines: { biddingMs: 800, executionSeconds: 60 },
  })
  return prepareJob(spec, { baseDir: examplesBuildDir, known: new Map([[moduleCid, wordcount]]) })
}

/** JobMarket's job counter: the voucher path must never create a JobMarket job. */
export async function jobMarketJobCount(market: LocalMarket): Promise<bigint> {
  return market.admin.clients.publicClient.readContract({
    address: market.deployment.market,
    abi: jobMarketAbi,
    functionName: 'jobCount',
  })
}

/** Polls `check` until it returns a value other than undefined (never a timing assertion). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * The contracts facade of dev account `index` of a local market (0 deployer, 1 requester, 2.. the
 * providers), as the test's own hands on the vault.
 */
export async function contractsOf(market: LocalMarket, index: number): Promise<BazaarContracts> {
  const key = devAccounts(index + 1)[index]!.privateKey
  const clients = await createChainClients({ provider: market.chain!.provider, privateKey: key })
  return createBazaarContracts({ clients, deployment: market.deployment })
}

/** Waits for the court case of voucher claim `claimId` to settle; the case and its dispute. */
export async function settledClaimCase(court: VerificationCourt, claimId: Hex, timeoutMs = 180_000) {
  const caseId = await eventually(
    async () => {
      for (let id = await court.caseCount(); id > 0n; id--) {
        const c = await court.getCase(id)
        if (c.claimId === claimId) return c.status === 'Settled' ? id : undefined
      }
      return undefined
    },
    'the court to settle the claim',
    timeoutMs,
  )
  const c = await court.getCase(caseId)
  return { caseId, case: c, dispute: await court.getDispute(c.disputeId) }
}
