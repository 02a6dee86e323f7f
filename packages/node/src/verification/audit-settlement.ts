import { ChainError, type CourtCase, type CourtDispute } from '@bazaar/chain'
import type { Address, Hex } from 'viem'
import { driveCase, isUndetermined } from './drive-case.ts'

/** The court calls a requester makes for an audited job (a `VerificationCourt` for its signer). */
export interface AuditCourt {
  openAudit(jobId: bigint, auditBps: number): Promise<{ caseId: bigint; gasUsed: bigint }>
  drawAudit(
    caseId: bigint,
  ): Promise<{ drawn: boolean; selected: boolean; auditor?: Address; gasUsed: bigint }>
  getCase(caseId: bigint): Promise<CourtCase>
  /** Ends an audit case whose job expired (the fee goes back). */
  settleCase(caseId: bigint): Promise<{ gasUsed: bigint }>
  getDispute(disputeId: bigint): Promise<CourtDispute>
  voteOf(disputeId: bigint, referee: Address): Promise<{ revealed: boolean }>
  drawReferees(disputeId: bigint): Promise<{ referees: readonly Address[]; gasUsed: bigint }>
  resolveDispute(disputeId: bigint): Promise<{ gasUsed: bigint }>
  settlementOf(
    jobId: bigint,
  ): Promise<{ paid: bigint; fee: bigint; refunded: bigint; slashed: bigint; reason?: Hex } | undefined>
}

/** Steps of an audit, as job events. */
export type AuditEvent =
  | { type: 'audit-opened'; jobId: bigint; caseId: bigint; probability: number }
  | { type: 'audit-drawn'; jobId: bigint; selected: boolean; auditor?: Address }
  | { type: 'referees-drawn'; jobId: bigint; disputeId: bigint; referees: readonly Address[] }
  | { type: 'dispute-resolved'; jobId: bigint; disputeId: bigint }

/** How an audited job ended. */
export interface AuditOutcome {
  /**
   * `not-selected`: the draw passed the job, the provider was paid; `verified`: the auditor (or
   * the referees) confirmed the result, the provider was paid; `unaudited`: the drawn auditor
   * did not answer, so the result stood and the provider was paid (the auditor lost part of its
   * bond, the requester got the fee back); `provider-wrong`: the provider was slashed and the
   * requester paid nothing; `undetermined`: no referee majority, nobody paid, escrow refunded.
   */
  verdict: 'not-selected' | 'verified' | 'unaudited' | 'provider-wrong' | 'undetermined'
  paid: bigint
  refunded: bigint
  gasUsed: bigint
}

export interface AuditSettlementInit {
  court: AuditCourt
  onEvent?(event: AuditEvent): void
  /** Poll interval while referees work (default 500 ms). */
  pollMs?: number
  signal?: AbortSignal
}

/** Audit probability as the court takes it: basis points, at least 1. */
export function auditBps(probability: number): number {
  return Math.min(10_000, Math.max(1, Math.round(probability * 10_000)))
}

/**
 * Puts an awarded job under audit with `probability` (the court takes the audit fee; the node
 * approves the court once at start).
 */
export async function openAudit(
  init: AuditSettlementInit,
  jobId: bigint,
  probability: number,
): Promise<{ caseId: bigint; gasUsed: bigint }> {
  const opened = await init.court.openAudit(jobId, auditBps(probability))
  init.onEvent?.({ type: 'audit-opened', jobId, caseId: opened.caseId, probability })
  return opened
}

/**
 * Settles a revealed, audited job: runs the two-step draw, and if the job is selected drives
 * the dispute(s) to their end (drawing referees for a follow-up dispute, resolving once the
 * reveal window is over); referees resolve on their own when all have revealed. Reads the
 * market's settlement for what was paid and refunded.
 */
export async function settleAudit(
  init: AuditSettlementInit,
  jobId: bigint,
  caseId: bigint,
): Promise<AuditOutcome> {
  const { court } = init
  const pollMs = init.pollMs ?? 500
  let gasUsed = 0n
  let selected = false
  const before = await court.getCase(caseId)
  if (before.status === 'Running') {
    for (;;) {
      const step = await court.drawAudit(caseId)
      gasUsed += step.gasUsed
      if (step.drawn) {
        selected = step.selected
        init.onEvent?.({
          type: 'audit-drawn',
          jobId,
          selected,
          ...(step.auditor ? { auditor: step.auditor } : {}),
        })
        break
      }
    }
  } else {
    // Drawn already (by us before a restart, or by anyone after the grace period).
    selected = before.auditor !== ZERO_ADDRESS
  }
  gasUsed += await driveCase(court, jobId, caseId, {
    pollMs,
    ...(init.signal ? { signal: init.signal } : {}),
    ...(init.onEvent ? { onEvent: init.onEvent } : {}),
  })
  const final = await court.getCase(caseId)
  const auditorAnswered =
    selected && final.auditor !== ZERO_ADDRESS ? await auditorRevealed(court, caseId, final.auditor) : false
  const settlement = await court.settlementOf(jobId)
  if (!settlement)
    throw new ChainError(`audit case ${caseId} is settled but job ${jobId} has no settlement event`)
  const verdict = !selected
    ? 'not-selected'
    : settlement.slashed > 0n
      ? 'provider-wrong'
      : isUndetermined(settlement)
        ? 'undetermined'
        : auditorAnswered
          ? 'verified'
          : 'unaudited'
  return { verdict, paid: settlement.paid, refunded: settlement.refunded, gasUsed }
}

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'

/** Whether the auditor revealed its re-execution in the case's first (audit) dispute. */
async function auditorRevealed(court: AuditCourt, caseId: bigint, auditor: Address): Promise<boolean> {
  // Disputes are numbered in order; the audit's own is the first one that names this case.
  const latest = (await court.getCase(caseId)).disputeId
  for (let id = latest; id > 0n; id--) {
    const d = await court.getDispute(id)
    if (d.caseId !== caseId) continue
    if (d.audit) return (await court.voteOf(id, auditor)).revealed
  }
  return false
}
