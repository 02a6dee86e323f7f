import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { JobAnnouncement, VoucherAward, VoucherTerms } from '@bazaar/protocol'
import type { Address, Hex } from 'viem'
import { decodeJson, encodeJson } from './json-codec.ts'

export type VoucherRole = 'requester' | 'provider'

/**
 * Phases of a voucher job. Requester: awarded → verified → vouchered, or rejected (wrong or
 * unverifiable result: never vouchered). Provider: accepted → running → delivered → vouchered,
 * or claimed → claim-paid (silent requester), or failed.
 */
export type VoucherJobPhase =
  | 'awarded'
  | 'verified'
  | 'rejected'
  | 'accepted'
  | 'running'
  | 'delivered'
  | 'vouchered'
  | 'claimed'
  | 'claim-paid'
  | 'failed'

/** One voucher job as either side keeps it (what the other side signed, and what it delivered). */
export interface VoucherJobRecord {
  role: VoucherRole
  jobId: string
  phase: VoucherJobPhase
  award: VoucherAward
  awardSignature: Hex
  /** The key that signed the award (the requester or a delegated key). */
  signer?: Address
  /** Provider: the job to run. Requester: what it asked for (descriptor limits for verification). */
  announcement?: JobAnnouncement
  /** The other side's libp2p peer. */
  peerId?: string
  fuelUsed?: bigint
  resultHash?: Hex
  /** fuelUsed × pricePerFuel, what this job adds to the cumulative voucher. */
  amount?: bigint
  /** Unix ms the result was delivered (provider) or verified (requester). */
  deliveredAt?: number
  claimId?: Hex
  reason?: string
  /** Requester: the voucher that first covered this job, and when it was signed (unix ms). */
  voucheredBy?: { paidThroughSequence: bigint; cumulativeAmount: bigint }
  voucheredAt?: number
  /** Requester: a claim the provider filed for this job, as this node judged and followed it. */
  claim?: VoucherJobClaim
  /**
   * Requester: the award was sent but no answer came yet (a lost reply is not a refusal): it is
   * sent again before the pair's next award. Absent once the provider accepted it (and on records
   * written before this field existed).
   */
  unacknowledged?: boolean
  /**
   * Requester: the result and fuel of the job's claim, read with its end (not in `claim`, which
   * the API shows as is): a paid claim's jobsRoot entry (vouchers/job-closure.ts).
   */
  claimResult?: { resultHash: Hex; fuelUsed: bigint }
}

/** A claim filed against the requester for one of its jobs (docs/vouchers.md). */
export interface VoucherJobClaim {
  claimId: Hex
  amount: bigint
  /** Unix ms this node saw the claim. */
  seenAt: number
  /** This node disputed it (the result did not verify). */
  disputed: boolean
  /**
   * The court case and dispute this node opened for it, written right after the dispute's
   * transaction, so a restarted node sends the job to the referees again and drives the case.
   */
  caseId?: bigint
  disputeId?: bigint
  /** How it ended on-chain, once seen: paid to the provider, or returned to the escrow. */
  status?: 'Paid' | 'Rejected'
  endedAt?: number
}

/** A signed voucher as kept by either side. */
export interface StoredVoucher {
  voucher: VoucherTerms
  signature: Hex
  signer: Address
}

/** One (requester, provider) pair as either side keeps it. */
export interface VoucherChannelRecord {
  role: VoucherRole
  requester: Address
  provider: Address
  /** Highest sequence awarded (requester) or accepted (provider). */
  lastSequence: bigint
  /** The latest voucher signed (requester) or accepted (provider). */
  latest?: StoredVoucher
  /** Provider: cumulative amount the vault has paid through redemptions of this pair's vouchers. */
  redeemed?: bigint
  /** Provider: the requester announced a thaw for this provider: no new awards. */
  thawing?: boolean
  /** Provider: signing keys of this requester that were revoked. */
  revokedSigners?: Address[]
  /** The other side's libp2p peer. */
  peerId?: string
  /** Requester: vouchers signed for this pair so far (for /metrics). */
  vouchersSigned?: number
}

interface JobRow {
  record: string
}

const key = (a: Address) => a.toLowerCase()

/** Voucher jobs and channels (migration 2), both roles in one table each, keyed by pair. */
export class VoucherRepo {
  readonly #saveJob: StatementSync
  readonly #jobBySeq: StatementSync
  readonly #jobById: StatementSync
  readonly #jobsInPhases: StatementSync
  readonly #jobsOfPair: StatementSync
  readonly #saveChannel: StatementSync
  readonly #channel: StatementSync
  readonly #channels: StatementSync
  readonly #openClaims: StatementSync
  readonly #phaseCounts: StatementSync
  readonly #cursor: StatementSync
  readonly #saveCursor: StatementSync

  constructor(db: DatabaseSync) {
    this.#saveJob = db.prepare(`
      INSERT INTO voucher_jobs (role, requester, provider, sequence, job_id, phase, record, updated_at)
      VALUES (:role, :requester, :provider, :sequence, :job_id, :phase, :record, :updated_at)
      ON CONFLICT (role, requester, provider, sequence) DO UPDATE SET
        job_id = excluded.job_id, phase = excluded.phase, record = excluded.record,
        updated_at = excluded.updated_at`)
    this.#jobBySeq = db.prepare(
      'SELECT record FROM voucher_jobs WHERE role = ? AND requester = ? AND provider = ? AND sequence = ?',
    )
    this.#jobById = db.prepare('SELECT record FROM voucher_jobs WHERE role = ? AND job_id = ?')
    this.#jobsInPhases = db.prepare(
      'SELECT record FROM voucher_jobs WHERE role = ? AND phase IN (SELECT value FROM json_each(?)) ORDER BY sequence',
    )
    this.#jobsOfPair = db.prepare(
      'SELECT record FROM voucher_jobs WHERE role = ? AND requester = ? AND provider = ? ORDER BY sequence',
    )
    this.#saveChannel = db.prepare(`
      INSERT INTO voucher_channels (role, requester, provider, record, updated_at)
      VALUES (:role, :requester, :provider, :record, :updated_at)
      ON CONFLICT (role, requester, provider) DO UPDATE SET
        record = excluded.record, updated_at = excluded.updated_at`)
    this.#channel = db.prepare(
      'SELECT record FROM voucher_channels WHERE role = ? AND requester = ? AND provider = ?',
    )
    this.#channels = db.prepare('SELECT record FROM voucher_channels WHERE role = ?')
    this.#openClaims = db.prepare(`
      SELECT record FROM voucher_jobs WHERE role = ?
        AND json_extract(record, '$.claim') IS NOT NULL
        AND json_extract(record, '$.claim.status') IS NULL
      ORDER BY sequence`)
    this.#phaseCounts = db.prepare(
      'SELECT phase, COUNT(*) AS n FROM voucher_jobs WHERE role = ? GROUP BY phase ORDER BY phase',
    )
    this.#cursor = db.prepare('SELECT block FROM scan_cursors WHERE name = ?')
    this.#saveCursor = db.prepare(`
      INSERT INTO scan_cursors (name, block, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET block = excluded.block, updated_at = excluded.updated_at`)
  }

  saveJob(job: VoucherJobRecord): void {
    this.#saveJob.run({
      role: job.role,
      requester: key(job.award.requester),
      provider: key(job.award.provider),
      sequence: Number(job.award.sequence),
      job_id: job.jobId,
      phase: job.phase,
      record: encodeJson(job),
      updated_at: Date.now(),
    })
  }

  /** Reads a job, applies `update` and writes it back (in the caller's synchronous step). */
  updateJob(
    role: VoucherRole,
    jobId: string,
    update: Partial<Omit<VoucherJobRecord, 'role' | 'jobId' | 'award'>>,
  ): VoucherJobRecord | undefined {
    const job = this.jobById(role, jobId)
    if (!job) return undefined
    const next = { ...job, ...update }
    this.saveJob(next)
    return next
  }

  job(
    role: VoucherRole,
    requester: Address,
    provider: Address,
    sequence: bigint,
  ): VoucherJobRecord | undefined {
    const row = this.#jobBySeq.get(role, key(requester), key(provider), Number(sequence)) as
      | JobRow
      | undefined
    return row ? decodeJson<VoucherJobRecord>(row.record) : undefined
  }

  jobById(role: VoucherRole, jobId: string): VoucherJobRecord | undefined {
    const row = this.#jobById.get(role, jobId) as JobRow | undefined
    return row ? decodeJson<VoucherJobRecord>(row.record) : undefined
  }

  jobsInPhases(role: VoucherRole, phases: readonly VoucherJobPhase[]): VoucherJobRecord[] {
    return (this.#jobsInPhases.all(role, JSON.stringify(phases)) as unknown as JobRow[]).map((r) =>
      decodeJson<VoucherJobRecord>(r.record),
    )
  }

  /** Every job of a pair, by sequence. */
  jobsOf(role: VoucherRole, requester: Address, provider: Address): VoucherJobRecord[] {
    return (this.#jobsOfPair.all(role, key(requester), key(provider)) as unknown as JobRow[]).map((r) =>
      decodeJson<VoucherJobRecord>(r.record),
    )
  }

  /** Jobs with a claim seen whose end on-chain was not seen yet. */
  jobsWithOpenClaims(role: VoucherRole): VoucherJobRecord[] {
    return (this.#openClaims.all(role) as unknown as JobRow[]).map((r) =>
      decodeJson<VoucherJobRecord>(r.record),
    )
  }

  /** How many jobs of a role are in each phase (for /metrics). */
  phaseCounts(role: VoucherRole): Map<VoucherJobPhase, number> {
    const rows = this.#phaseCounts.all(role) as unknown as { phase: VoucherJobPhase; n: number }[]
    return new Map(rows.map((r) => [r.phase, Number(r.n)]))
  }

  /** The last block a named chain-event scan handled (migration 4), undefined before its first. */
  scanCursor(name: string): bigint | undefined {
    const row = this.#cursor.get(name) as { block: string } | undefined
    return row ? BigInt(row.block) : undefined
  }

  /** Records that the scan `name` handled every event through `block`. */
  saveScanCursor(name: string, block: bigint): void {
    this.#saveCursor.run(name, block.toString(), Date.now())
  }

  saveChannel(channel: VoucherChannelRecord): void {
    this.#saveChannel.run({
      role: channel.role,
      requester: key(channel.requester),
      provider: key(channel.provider),
      record: encodeJson(channel),
      updated_at: Date.now(),
    })
  }

  channel(role: VoucherRole, requester: Address, provider: Address): VoucherChannelRecord | undefined {
    const row = this.#channel.get(role, key(requester), key(provider)) as JobRow | undefined
    return row ? decodeJson<VoucherChannelRecord>(row.record) : undefined
  }

  channels(role: VoucherRole): VoucherChannelRecord[] {
    return (this.#channels.all(role) as unknown as JobRow[]).map((r) =>
      decodeJson<VoucherChannelRecord>(r.record),
    )
  }
}
