import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BaseError, ErrorCode } from '@bazaar/protocol'
import type { WasmJobDescriptor } from '@bazaar/protocol/job-descriptor'
import type { WasmRunner } from '../provider/provider-service.ts'
import { ContentUnavailableError, runForVerdict } from './run-for-verdict.ts'

const bytes = (text: string) => new TextEncoder().encode(text)

const job: WasmJobDescriptor = {
  name: 'w',
  runtime: 'wasm',
  moduleCid: 'module-cid',
  args: [],
  env: {},
  inputs: [{ path: 'in.txt', cid: 'input-cid', size: 2 }],
  resources: { cores: 1, memoryMb: 16 },
  limits: { fuel: '1000', timeoutMs: 5000, outputBytes: 100 },
  maxPricePerFuel: '7',
  verification: { mode: 'none' },
}

const wasm: WasmRunner = {
  run: async () => ({ stdout: bytes('out'), exitCode: 0, fuelUsed: 77n }),
}

function request(fetch: (cid: string) => Promise<Uint8Array>) {
  return { jobId: '42', job, fetch, store: { put: async () => 'bafkreioutput' } }
}

describe('runForVerdict', () => {
  it('returns the receipt of a job whose content was fetched', async () => {
    const receipt = await runForVerdict(
      wasm,
      request(async (cid) => bytes(cid)),
    )
    assert.equal(receipt.status, 'ok')
    assert.equal(receipt.fuelUsed, '77')
  })

  it('never turns a failed download into a receipt to vote on', async () => {
    // A provider's runner answers this with an error receipt billing 0; a referee must not.
    const unreachable = new BaseError(ErrorCode.NotFound, 'peer does not serve it')
    await assert.rejects(
      runForVerdict(
        wasm,
        request(async (cid) => {
          if (cid === 'input-cid') throw unreachable
          return bytes(cid)
        }),
      ),
      (err: unknown) => err instanceof ContentUnavailableError && err.cause === unreachable,
    )
  })

  it('still votes on a job that ran and failed in the sandbox (deterministic)', async () => {
    const trapping: WasmRunner = {
      run: async () => {
        throw new BaseError(ErrorCode.Trap, 'unreachable executed', { details: { fuelUsed: '12' } })
      },
    }
    const receipt = await runForVerdict(
      trapping,
      request(async (cid) => bytes(cid)),
    )
    assert.equal(receipt.status, 'error')
    assert.equal(receipt.fuelUsed, '12')
  })
})
