import type { BazaarClient, JobView } from './bazaar-client.ts'

export interface MapJobsProgress {
  total: number
  completed: number
  failed: number
  running: number
  retries: number
}

export interface MapJobsOptions<T> {
  /** The items to process; one job each. */
  items: readonly T[]
  /** Builds the job spec for one item (files referenced by cid or given as text). */
  specFor: (item: T, index: number) => object | Promise<object>
  /** Jobs in flight at once (default 4). */
  concurrency?: number
  /**
   * Extra attempts for a job that did not complete for a reason another provider may not
   * have: refunded (no bid, provider vanished), unverified, or a node error (default 2).
   * A job that failed in the sandbox (out of fuel, trap) is not retried: it would fail again.
   */
  retries?: number
  onProgress?: (progress: MapJobsProgress) => void
  signal?: AbortSignal
}

export interface MapJobsResult<T> {
  item: T
  index: number
  job: JobView
  /** The output bytes when the job completed. */
  output?: Uint8Array
  attempts: number
}

const RETRYABLE = new Set<JobView['state']>(['refunded', 'unverified', 'error'])

/** Runs one job per item with bounded concurrency, retries and progress; results keep input order. */
export async function mapJobs<T>(
  client: BazaarClient,
  options: MapJobsOptions<T>,
): Promise<MapJobsResult<T>[]> {
  const concurrency = Math.max(1, options.concurrency ?? 4)
  const retries = Math.max(0, options.retries ?? 2)
  const progress: MapJobsProgress = {
    total: options.items.length,
    completed: 0,
    failed: 0,
    running: 0,
    retries: 0,
  }
  const results: MapJobsResult<T>[] = new Array(options.items.length)
  const report = () => options.onProgress?.({ ...progress })
  let next = 0

  const runOne = async (index: number): Promise<MapJobsResult<T>> => {
    const item = options.items[index]!
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted()
      const submitted = await client.submit(await options.specFor(item, index))
      const job = await client.wait(submitted.id)
      if (job.state === 'completed')
        return { item, index, job, output: await client.output(job.id), attempts: attempt }
      if (!RETRYABLE.has(job.state) || attempt > retries) return { item, index, job, attempts: attempt }
      progress.retries++
      report()
    }
  }

  const worker = async () => {
    while (next < options.items.length) {
      const index = next++
      progress.running++
      report()
      const result = await runOne(index)
      progress.running--
      if (result.job.state === 'completed') progress.completed++
      else progress.failed++
      results[index] = result
      report()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, options.items.length) }, worker))
  return results
}
