import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { ErrorCode } from '@bazaar/protocol'
import { BlobHolders } from './blob-holders.ts'
import { BlobRepo } from './blob-repo.ts'
import { migrate } from './migrations.ts'
import { PeerRepo } from './peer-repo.ts'
import { ProviderJobRepo } from './provider-job-repo.ts'
import { RefereeDutyRepo } from './referee-duty-repo.ts'
import { RequesterJobRepo } from './requester-job-repo.ts'
import { StoreError } from './store-error.ts'
import { VoucherRepo } from './voucher-repo.ts'

/**
 * A node's persistent state (docs/reliability.md): one SQLite database, `node.db` in the data
 * dir, or in memory without one (tests, the local market), so both behave the same. Writes are
 * synchronous: when a repository call returns, the row is committed, so a node that writes
 * before it acts finds, after a kill at any instant, at least what it was about to do.
 */
export interface NodeStore {
  readonly path: string
  readonly providerJobs: ProviderJobRepo
  readonly requesterJobs: RequesterJobRepo
  readonly blobs: BlobRepo
  /** What else (requester, voucher, referee records) still names a blob: the sweep keeps those. */
  readonly blobHolders: BlobHolders
  readonly refereeDuties: RefereeDutyRepo
  readonly peers: PeerRepo
  /** The voucher path's jobs and channels (docs/vouchers.md). */
  readonly vouchers: VoucherRepo
  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T
  close(): void
}

export function openNodeStore(options: { dataDir?: string } = {}): NodeStore {
  let path = ':memory:'
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true })
    path = join(options.dataDir, 'node.db')
  }
  let db: DatabaseSync
  try {
    db = new DatabaseSync(path)
    // WAL: readers never block the writer, and a committed transaction survives a killed
    // process. synchronous=FULL also makes it survive a power cut.
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000',
    )
  } catch (cause) {
    throw new StoreError(ErrorCode.Internal, `cannot open the node database at ${path}`, {
      cause,
      hint: 'check that the data dir is writable and not used by another node process',
    })
  }
  migrate(db)
  let open = true
  return {
    path,
    providerJobs: new ProviderJobRepo(db),
    requesterJobs: new RequesterJobRepo(db),
    blobs: new BlobRepo(db),
    blobHolders: new BlobHolders(db),
    refereeDuties: new RefereeDutyRepo(db),
    peers: new PeerRepo(db),
    vouchers: new VoucherRepo(db),
    transaction(fn) {
      db.exec('BEGIN IMMEDIATE')
      try {
        const result = fn()
        db.exec('COMMIT')
        return result
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    close() {
      if (!open) return
      open = false
      db.close()
    },
  }
}
