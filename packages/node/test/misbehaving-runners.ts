/**
 * The misbehaving-provider harness (issue #6): executor wrappers a test gives a local-market
 * provider through `wrapRunner`. Test-only: nothing in the demo or the daemon uses them.
 */
import type { WasmRunner } from '../src/provider/provider-service.ts'
import { sleep } from '../src/sleep.ts'

/** Returns a wrong result: its output with every byte flipped. */
export const wrongResult = (runner: WasmRunner): WasmRunner => ({
  async run(job, opts) {
    const result = await runner.run(job, opts)
    return { ...result, stdout: result.stdout.map((b) => b ^ 0xff) }
  },
})

/** Claims more fuel than its job used (to be paid more). */
export const greedyFuel = (runner: WasmRunner): WasmRunner => ({
  async run(job, opts) {
    const result = await runner.run(job, opts)
    return { ...result, fuelUsed: result.fuelUsed + 12_345n }
  },
})

/** Takes the job and never delivers (until the node stops). */
export const noShow = (): WasmRunner => ({
  run: (_job, opts) =>
    new Promise((_resolve, reject) => {
      const fail = () => reject(new Error('no-show provider stopped'))
      if (opts?.signal?.aborted) fail()
      opts?.signal?.addEventListener('abort', fail, { once: true })
    }),
})

/**
 * A lazy copier: does no work of its own until another replica of its job (same seed: the spec
 * hash) has revealed, then hands in that result. Re-running once the sibling revealed stands in
 * for fetching the sibling's revealed receipt (honest replicas' receipts are byte-identical):
 * what it exploits is seeing a result before committing to its own, not the copying itself.
 * `siblingRevealed` is how it watches the chain.
 */
export const lazyCopier =
  (siblingRevealed: (specHash: string) => Promise<boolean>) =>
  (runner: WasmRunner): WasmRunner => ({
    async run(job, opts) {
      while (!(await siblingRevealed(job.seed ?? ''))) await sleep(250, opts?.signal)
      return runner.run(job, opts)
    },
  })
