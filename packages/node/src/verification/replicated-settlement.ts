import { ChainError } from '@bazaar/chain'
import type { Hex } from 'viem'
import { type CaseCourt, type CaseEvent, driveCase, isUndetermined } from './drive-case.ts'

/** The court calls a requester makes for a replicated job (a `VerificationCourt` for its signer). */
export interface ReplicatedCourt extends CaseCourt {
  openReplicated(jobIds: readonly bigint[]): Promise<{ caseId: bigint; gasUsed: bigint }>
  settleCase(caseId: bigint): Promise<{ gasUsed: bigint; disputeId?: bigint }>
  settlementOf(
    jobId: bigint,
  ): Promise<{ paid: bigint; fee: bigint; refunded: bigint; slashed: bigint; reason?: Hex } | undefined>
}

/** Steps of a replicated job's case, as job events. */
export type ReplicatedEvent =
  | { type: 'replicas-linked'; jobId: bigint; caseId: bigint; jobIds: readonly bigint[] }
  | { type: 'replicas-settled'; jobId: bigint; caseId: bigint; verdict: ReplicatedVerdict; disputed: boolean }
  | CaseEvent

/**
 * How a replicated job ended. `agreed`: at least two replicas revealed the same result and were
 * paid, no dispute; `verified`: a dispute's referees found the result of at least one replica
 * right, which was paid (the others slashed); `provider-wrong`: every replica that revealed was
 * slashed, nothing paid; `undetermined`: no referee majority, nothing paid, escrows refunded;
 * `none-revealed`: every replica missed its deadline (each refunded, its provider slashed).
 */
export type ReplicatedVerdict = 'agreed' | 'verified' | 'provider-wrong' | 'undetermined' | 'none-revealed'

/** What became of one replica. */
export interface ReplicaSettlement {
  jobId: bigint
  /** `upheld`: paid for its result; `slashed`: found wrong; `expired`: never revealed (reclaimed). */
  status: 'upheld' | 'slashed' | 'undetermined' | 'expired'
  paid: bigint
  refunded: bigint
  slashed: bigint
}

export interface ReplicatedOutcome {
  verdict: ReplicatedVerdict
  disputed: boolean
  replicas: ReplicaSettlement[]
  paid: bigint
  refunded: bigint
  gasUsed: bigint
}

export interface ReplicatedSettlementInit {
  court: ReplicatedCourt
  onEvent?(event: ReplicatedEvent): void
  /** Poll interval while referees work (default 500 ms). */
  pollMs?: number
  signal?: AbortSignal
}

/**
 * Links k awarded jobs of one spec into a replicated case (the court holds them from here: only
 * its verdict settles them). Must run before any replica reveals: the court refuses a revealed job.
 */
export async function openReplicated(
  init: ReplicatedSettlementInit,
  jobIds: readonly bigint[],
): Promise<{ caseId: bigint; gasUsed: bigint }> {
  const opened = await init.court.openReplicated(jobIds)
  init.onEvent?.({ type: 'replicas-linked', jobId: jobIds[0] ?? 0n, caseId: opened.caseId, jobIds })
  return opened
}

/**
 * Settles a replicated case once every replica has revealed or expired (expired ones reclaimed):
 * `settleCase` pays agreeing replicas, or opens a dispute that is driven to the referees'
 * verdict. Reads each replica's settlement from the market. `escrowOf` gives a replica's escrow
 * (an expired replica has no verifier settlement: its escrow came back through the reclaim).
 */
export async function settleReplicated(
  init: ReplicatedSettlementInit,
  caseId: bigint,
  jobIds: readonly bigint[],
  escrowOf: (jobId: bigint) => bigint,
): Promise<ReplicatedOutcome> {
  const { court } = init
  const mainJob = jobIds[0] ?? 0n
  let gasUsed = 0n
  if ((await court.getCase(caseId)).status === 'Running') {
    try {
      gasUsed += (await court.settleCase(caseId)).gasUsed
    } catch (err) {
      // Anyone may settle the case: if someone else did first, it is no longer Running.
      if (!(err instanceof ChainError) || (await court.getCase(caseId)).status === 'Running') throw err
    }
  }
  gasUsed += await driveCase(court, mainJob, caseId, {
    pollMs: init.pollMs ?? 500,
    ...(init.signal ? { signal: init.signal } : {}),
    ...(init.onEvent ? { onEvent: init.onEvent } : {}),
  })
  const disputed = (await court.getCase(caseId)).disputeId !== 0n
  const replicas: ReplicaSettlement[] = []
  for (const jobId of jobIds) {
    const s = await court.settlementOf(jobId)
    if (!s) {
      replicas.push({ jobId, status: 'expired', paid: 0n, refunded: escrowOf(jobId), slashed: 0n })
      continue
    }
    const status = s.slashed > 0n ? 'slashed' : isUndetermined(s) ? 'undetermined' : 'upheld'
    replicas.push({ jobId, status, paid: s.paid, refunded: s.refunded, slashed: s.slashed })
  }
  const verdict = replicatedVerdict(replicas, disputed)
  init.onEvent?.({ type: 'replicas-settled', jobId: mainJob, caseId, verdict, disputed })
  let paid = 0n
  let refunded = 0n
  for (const r of replicas) {
    paid += r.paid
    refunded += r.refunded
  }
  return { verdict, disputed, replicas, paid, refunded, gasUsed }
}

/** The case's verdict from what became of each replica (pure; unit-tested). */
export function replicatedVerdict(
  replicas: readonly Pick<ReplicaSettlement, 'status'>[],
  disputed: boolean,
): ReplicatedVerdict {
  if (replicas.some((r) => r.status === 'upheld')) return disputed ? 'verified' : 'agreed'
  if (replicas.some((r) => r.status === 'undetermined')) return 'undetermined'
  if (replicas.some((r) => r.status === 'slashed')) return 'provider-wrong'
  return 'none-revealed'
}
