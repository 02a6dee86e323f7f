import { cidToBytes32, decodeMessage, describeError, resultReceiptSchema } from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { NodeStore } from '../store/node-store.ts'

/** Phases in which the chain has settled a job for good, as the payment collector saw it. */
const SETTLED_PHASES = ['finalized', 'closed'] as const
/** Phases that may hide a job still open on-chain; their blobs go only once the chain says so. */
const ENDED_PHASES = ['failed', 'lost'] as const
/** On-chain statuses after which nobody fetches a job's result again. */
const FINAL_STATUSES = ['Finalized', 'Cancelled', 'Expired']

export interface BlobRetentionInit {
  /** How long a job stays settled before its blobs may go (the config's hours, in ms). */
  retentionMs: number
  db: Pick<NodeStore, 'providerJobs' | 'blobs' | 'blobHolders' | 'transaction'>
  /**
   * The job's on-chain status: a `failed` or `lost` job that has a receipt may still have been
   * revealed, so its blobs go only once the chain shows it final. Without it they are kept.
   */
  chainStatus?: (jobId: bigint) => Promise<string>
  logger: Logger
  /** Jobs let go per sweep (default 2,000), so one sweep never holds the database for long. */
  maxJobsPerSweep?: number
  now?: () => number
}

export interface BlobSweepResult {
  /** Jobs whose blobs were let go. */
  jobs: number
  /** Blobs deleted, and their bytes. */
  blobs: number
  bytes: number
}

/**
 * One retention sweep over a provider's blobs (its outputs and receipts; it stores nothing
 * else of a job). A blob is deleted only when all of these hold:
 * - a job names it (receipt or output) and has been settled on-chain (`finalized`, `closed`;
 *   `failed`/`lost` once the chain shows Finalized, Cancelled or Expired) for `retentionMs`;
 * - no other provider job whose blobs are not released names it (a shared output or a
 *   replicated job's identical receipt stays while any of its jobs needs it);
 * - no requester, voucher or referee record names it (on a node playing both roles, the
 *   requester's outputs are the user's results and are never deleted);
 * - it was not stored or put again within `retentionMs` (a job running right now may have
 *   produced the same bytes before its receipt was recorded).
 * The decisions and deletes run synchronously in one transaction, so no put interleaves.
 */
export async function sweepBlobs(init: BlobRetentionInit): Promise<BlobSweepResult> {
  const { db } = init
  const now = (init.now ?? Date.now)()
  const cutoff = now - init.retentionMs
  const limit = init.maxJobsPerSweep ?? 2_000
  const settled = db.providerJobs.expiredWithBlobs(SETTLED_PHASES, cutoff, limit)
  const ended: typeof settled = []
  if (init.chainStatus) {
    for (const job of db.providerJobs.expiredWithBlobs(ENDED_PHASES, cutoff, limit)) {
      const status = await init.chainStatus(job.jobId).catch((err: unknown) => {
        init.logger.debug({ jobId: job.jobId.toString(), err: describeError(err) }, 'status not read')
        return undefined
      })
      if (status !== undefined && FINAL_STATUSES.includes(status)) ended.push(job)
    }
  }
  const expired = [...settled, ...ended]
  if (expired.length === 0) return { jobs: 0, blobs: 0, bytes: 0 }
  return db.transaction(() => {
    // Every job's output must be known before any output is judged unreferenced.
    indexOutputs(db)
    for (const job of expired) db.providerJobs.releaseBlobs(job.jobId)
    const candidates = new Set<string>()
    for (const job of expired) {
      candidates.add(job.receiptCid)
      // Read again: indexOutputs may have just filled it in.
      const output = db.providerJobs.outputCidOf(job.jobId)
      if (output) candidates.add(output)
    }
    // Read once per sweep, inside the transaction: one pass over those tables, not one per blob.
    const others = db.blobHolders.snapshot()
    let blobs = 0
    let bytes = 0
    for (const cid of candidates) {
      const info = db.blobs.info(cid)
      if (!info || info.storedAt >= cutoff) continue
      if (db.providerJobs.holdsBlob(cid)) continue
      if (others.holds(cid, hashOf(cid))) continue
      db.blobs.delete(cid)
      blobs++
      bytes += info.size
    }
    return { jobs: expired.length, blobs, bytes }
  })
}

/** Reads the output CID of every job whose receipt has not been read yet (once per job). */
function indexOutputs(db: BlobRetentionInit['db']): void {
  for (;;) {
    const batch = db.providerJobs.receiptsToIndex(500)
    if (batch.length === 0) return
    for (const { jobId, receiptCid } of batch) {
      const bytes = db.blobs.get(receiptCid)
      let output = ''
      if (bytes) {
        try {
          const receipt = decodeMessage(resultReceiptSchema, bytes, 'result receipt')
          output = 'outputCid' in receipt && typeof receipt.outputCid === 'string' ? receipt.outputCid : ''
        } catch {
          output = '' // unreadable: it names no output, and the receipt itself is still referenced
        }
      }
      db.providerJobs.setOutputCid(jobId, output)
    }
  }
}

function hashOf(cid: string): string {
  try {
    return cidToBytes32(cid)
  } catch {
    return cid // not a sha2-256 CID: nothing on-chain can name it
  }
}

/** Runs `sweepBlobs` every `intervalMs` and keeps the totals for the metrics. */
export function startBlobRetention(init: BlobRetentionInit & { intervalMs: number }): {
  stop(): void
  /** Totals since start. */
  readonly deleted: { blobs: number; bytes: number }
  /** One sweep now (tests, and the first one at start). */
  sweep(): Promise<BlobSweepResult>
} {
  const deleted = { blobs: 0, bytes: 0 }
  let sweeping: Promise<BlobSweepResult> | undefined
  const sweep = (): Promise<BlobSweepResult> => {
    sweeping ??= sweepBlobs(init)
      .then((result) => {
        deleted.blobs += result.blobs
        deleted.bytes += result.bytes
        if (result.blobs > 0) init.logger.info(result, 'deleted blobs of long-settled jobs')
        return result
      })
      .finally(() => {
        sweeping = undefined
      })
    return sweeping
  }
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => init.logger.warn({ err: describeError(err) }, 'blob sweep failed'))
  }, init.intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer), deleted, sweep }
}
