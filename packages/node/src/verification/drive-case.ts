import { ChainError, type CourtCase, type CourtDispute } from '@bazaar/chain'
import { type Address, type Hex, stringToHex } from 'viem'
import { sleep } from '../sleep.ts'

/** The court calls that move a case's disputes along (anyone may make them). */
export interface CaseCourt {
  getCase(caseId: bigint): Promise<CourtCase>
  getDispute(disputeId: bigint): Promise<CourtDispute>
  drawReferees(disputeId: bigint): Promise<{ referees: readonly Address[]; gasUsed: bigint }>
  resolveDispute(disputeId: bigint): Promise<{ gasUsed: bigint }>
}

export type CaseEvent =
  | { type: 'referees-drawn'; jobId: bigint; disputeId: bigint; referees: readonly Address[] }
  | { type: 'dispute-resolved'; jobId: bigint; disputeId: bigint }

/**
 * Drives a case until the court settles it: draws referees for a dispute that has none yet (a
 * block after it opened) and resolves a dispute once the court allows it (every referee
 * revealed, or the reveal window over). Referees resolve on their own when all have revealed;
 * this is what gets a case unstuck when some did not. Returns the gas it spent.
 */
export async function driveCase(
  court: CaseCourt,
  jobId: bigint,
  caseId: bigint,
  options: { pollMs?: number; signal?: AbortSignal; onEvent?(event: CaseEvent): void } = {},
): Promise<bigint> {
  const pollMs = options.pollMs ?? 500
  let gasUsed = 0n
  const resolvedReported = new Set<bigint>()
  for (;;) {
    const current = await court.getCase(caseId)
    const dispute = await court.getDispute(current.disputeId)
    if (current.disputeId !== 0n && dispute.resolved && !resolvedReported.has(dispute.disputeId)) {
      resolvedReported.add(dispute.disputeId)
      options.onEvent?.({ type: 'dispute-resolved', jobId, disputeId: dispute.disputeId })
    }
    if (current.status === 'Settled') return gasUsed
    if (current.disputeId !== 0n && !dispute.resolved && dispute.commitDeadline === 0n) {
      gasUsed += await attempt(async () => {
        const drawn = await court.drawReferees(dispute.disputeId)
        options.onEvent?.({
          type: 'referees-drawn',
          jobId,
          disputeId: dispute.disputeId,
          referees: drawn.referees,
        })
        return drawn.gasUsed
      })
    } else if (current.disputeId !== 0n && !dispute.resolved) {
      // The court says Court__TooEarly (before any transaction is sent) until it may resolve.
      gasUsed += await attempt(async () => (await court.resolveDispute(dispute.disputeId)).gasUsed)
    }
    await sleep(pollMs, options.signal)
  }
}

/** A court step that another party may have taken first, or that is not due yet: 0 gas then. */
export async function attempt(step: () => Promise<bigint>): Promise<bigint> {
  try {
    return await step()
  } catch (err) {
    const name = err instanceof ChainError ? err.errorName : undefined
    if (
      name === 'Court__TooEarly' ||
      name === 'Court__DrawTooEarly' ||
      name === 'Court__AlreadyResolved' ||
      name === 'Court__AlreadyDrawn'
    ) {
      return 0n
    }
    throw err
  }
}

/** The court's reason when no referee majority was reached (VerificationCourt.REASON_UNDETERMINED). */
const UNDETERMINED = stringToHex('UNDETERMINED', { size: 32 })

/** Whether a verifier settlement was the court giving up for lack of a majority. */
export function isUndetermined(settlement: { reason?: Hex }): boolean {
  return settlement.reason?.toLowerCase() === UNDETERMINED
}
