import { BaseError, ErrorCode, type ResultReceipt } from '@bazaar/protocol'
import { type RunJobRequest, runJob } from '../provider/job-runner.ts'
import type { WasmRunner } from '../provider/provider-service.ts'

/** A referee could not fetch what the job names from the peers it was pointed to. */
export class ContentUnavailableError extends BaseError {
  override name = 'ContentUnavailableError' as const
}

/**
 * Re-executes a job for a verdict. A provider that cannot fetch a job's module or inputs ends
 * with an error receipt (billing nothing); a referee must not vote on one: whether a fetch
 * succeeds depends on which peers it asked and when, not on the job, so such a vote could
 * condemn an honest result. Any failed fetch therefore rejects with `ContentUnavailableError`
 * (the referee tries another source, or abstains) instead of returning a receipt.
 */
export async function runForVerdict(runner: WasmRunner, request: RunJobRequest): Promise<ResultReceipt> {
  let failure: unknown
  const receipt = await runJob(runner, {
    ...request,
    fetch: async (cid) => {
      try {
        return await request.fetch(cid)
      } catch (err) {
        failure ??= err
        throw err
      }
    },
  })
  if (failure !== undefined) {
    throw new ContentUnavailableError(ErrorCode.NotFound, 'could not fetch what the job names', {
      cause: failure,
      hint: 'the job is re-executed from another source, or the duty is skipped (no vote)',
    })
  }
  return receipt
}
