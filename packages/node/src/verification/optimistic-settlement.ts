import { ChainError } from '@bazaar/chain'
import type { Address, Hex } from 'viem'
import { sleep } from '../sleep.ts'
import { type CaseCourt, type CaseEvent, driveCase, isUndetermined } from './drive-case.ts'

/** The court calls a requester makes for an optimistic job. */
export interface OptimisticCourt extends CaseCourt {
  caseOfJob(jobId: bigint): Promise<bigint>
  challengeWindow(): Promise<bigint>
  settlementOf(
    jobId: bigint,
  ): Promise<{ paid: bigint; fee: bigint; refunded: bigint; slashed: bigint; reason?: Hex } | undefined>
}

export type OptimisticEvent =
  | CaseEvent
  | { type: 'challenged'; jobId: bigint; caseId: bigint; challenger: Address }
  | { type: 'challenge-verdict'; jobId: bigint; verdict: ChallengeVerdict }

/**
 * `provider-wrong`: the referees upheld the challenge, the provider was slashed and the
 * requester paid nothing; `upheld`: the challenge failed, the provider was paid;
 * `undetermined`: no referee majority, nobody paid, the escrow refunded.
 */
export type ChallengeVerdict = 'provider-wrong' | 'upheld' | 'undetermined'

export interface ChallengeOutcome {
  verdict: ChallengeVerdict
  paid: bigint
  refunded: bigint
  gasUsed: bigint
}

export interface OptimisticInit {
  court: OptimisticCourt
  onEvent?(event: OptimisticEvent): void
  pollMs?: number
  signal?: AbortSignal
}

/**
 * Waits out a revealed job's challenge window. Unchallenged: returns undefined, and the caller
 * finalizes (the result stands). Challenged: drives the dispute to the court's verdict and
 * returns what the market settled. `revealedAt` is the reveal's block time; the wait is judged
 * on this machine's clock against it (a transaction's block takes the wall-clock time).
 */
export async function awaitChallenges(
  init: OptimisticInit,
  jobId: bigint,
  revealedAt: bigint,
): Promise<ChallengeOutcome | undefined> {
  const { court } = init
  const pollMs = init.pollMs ?? 500
  const window = await court.challengeWindow()
  for (;;) {
    const caseId = await court.caseOfJob(jobId)
    if (caseId !== 0n) return settleChallenge(init, jobId, caseId)
    if (BigInt(Math.floor(Date.now() / 1000)) > revealedAt + window) return undefined
    await sleep(pollMs, init.signal)
  }
}

/** Drives a challenge case to its verdict and reads the settlement. */
export async function settleChallenge(
  init: OptimisticInit,
  jobId: bigint,
  caseId: bigint,
): Promise<ChallengeOutcome> {
  const { court } = init
  const challenge = await court.getCase(caseId)
  init.onEvent?.({ type: 'challenged', jobId, caseId, challenger: challenge.challenger })
  const gasUsed = await driveCase(court, jobId, caseId, {
    ...(init.pollMs ? { pollMs: init.pollMs } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
    ...(init.onEvent ? { onEvent: init.onEvent } : {}),
  })
  const settlement = await court.settlementOf(jobId)
  if (!settlement)
    throw new ChainError(`challenge case ${caseId} is settled but job ${jobId} has no settlement event`)
  const verdict: ChallengeVerdict =
    settlement.slashed > 0n ? 'provider-wrong' : isUndetermined(settlement) ? 'undetermined' : 'upheld'
  init.onEvent?.({ type: 'challenge-verdict', jobId, verdict })
  return { verdict, paid: settlement.paid, refunded: settlement.refunded, gasUsed }
}
