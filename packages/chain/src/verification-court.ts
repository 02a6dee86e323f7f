import { jobMarketAbi, verificationCourtAbi } from '@bazaar/contracts'
import { type Address, type Hex, parseEventLogs } from 'viem'
import type { BazaarContracts, WriteResult } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'
import type { CourtConfig } from './deploy.ts'

export const CASE_KINDS = ['None', 'Replicated', 'Audit', 'Challenge', 'VoucherClaim'] as const
export type CaseKind = (typeof CASE_KINDS)[number]
export const CASE_STATUSES = ['None', 'Running', 'Disputed', 'Settled'] as const
export type CaseStatus = (typeof CASE_STATUSES)[number]

/** A verification case as the court stores it, with names for kind and status. */
export interface CourtCase {
  caseId: bigint
  kind: CaseKind
  status: CaseStatus
  requester: Address
  jobIds: readonly bigint[]
  auditBps: number
  auditFee: bigint
  seedBlock: bigint
  auditor: Address
  challenger: Address
  bond: bigint
  claimedResult: Hex
  claimedFuel: bigint
  disputeId: bigint
  /**
   * The disputed VoucherVault claim (VoucherClaim cases, which have no jobIds; there
   * `claimedResult`/`claimedFuel` are the provider's claim and `bond` the requester's).
   */
  claimId: Hex
}

/** A dispute (or an audit's single re-execution). */
export interface CourtDispute {
  disputeId: bigint
  caseId: bigint
  audit: boolean
  resolved: boolean
  seedBlock: bigint
  /** 0 until the referees are drawn. */
  commitDeadline: bigint
  revealDeadline: bigint
  referees: readonly Address[]
  parties: readonly Address[]
}

/** A pool member's standing. */
export interface CourtMember {
  bond: bigint
  duties: number
  active: boolean
}

/**
 * Typed access to the VerificationCourt for one signer. Writes go through the signer's
 * BazaarContracts queue (one nonce sequence per signer); reverts throw ChainError naming the
 * court's custom error (`Court__...`).
 */
export class VerificationCourt {
  readonly address: Address
  readonly #contracts: BazaarContracts

  constructor(contracts: BazaarContracts, address: Address) {
    this.#contracts = contracts
    this.address = address
  }

  /** Lets the court take bonds and fees from this signer (join, challenge, audit fee). */
  approve(amount: bigint): Promise<WriteResult> {
    return this.#contracts.approve(this.address, amount)
  }

  joinPool(): Promise<WriteResult> {
    return this.#send('joinPool', [])
  }

  leavePool(): Promise<WriteResult> {
    return this.#send('leavePool', [])
  }

  /** Links awarded replicas (same spec, distinct providers) into a replicated case. */
  async openReplicated(jobIds: readonly bigint[]): Promise<WriteResult & { caseId: bigint }> {
    const result = await this.#send('openReplicated', [jobIds])
    return { ...result, caseId: this.#event(result, 'CaseOpened').caseId as bigint }
  }

  /** Puts an awarded job under audit with probability auditBps / 10 000 (pays the audit fee). */
  async openAudit(jobId: bigint, auditBps: number): Promise<WriteResult & { caseId: bigint }> {
    const result = await this.#send('openAudit', [jobId, auditBps])
    return { ...result, caseId: this.#event(result, 'CaseOpened').caseId as bigint }
  }

  /**
   * One step of an audit draw: the first call arms it (`drawn` false), the next (a later block)
   * decides; `selected` says whether the job is re-executed, by `auditor`.
   */
  async drawAudit(
    caseId: bigint,
  ): Promise<WriteResult & { drawn: boolean; selected: boolean; auditor?: Address }> {
    const result = await this.#send('drawAudit', [caseId])
    const drawn = this.#events(result, 'AuditDrawn')[0]
    if (!drawn) return { ...result, drawn: false, selected: false }
    const auditor = drawn.auditor as Address
    return {
      ...result,
      drawn: true,
      selected: drawn.selected as boolean,
      ...(drawn.selected ? { auditor } : {}),
    }
  }

  /** Settles a replicated or audit case whose jobs all revealed or expired; may open a dispute. */
  async settleCase(caseId: bigint): Promise<WriteResult & { disputeId?: bigint }> {
    const result = await this.#send('settleCase', [caseId])
    const opened = this.#events(result, 'DisputeOpened')[0]
    return { ...result, ...(opened ? { disputeId: opened.disputeId as bigint } : {}) }
  }

  /** Challenges a revealed job within its challenge window with a different result (posts the bond). */
  async challenge(jobId: bigint, resultHash: Hex, fuel: bigint): Promise<WriteResult & { caseId: bigint }> {
    const result = await this.#send('challenge', [jobId, resultHash, fuel])
    return { ...result, caseId: this.#event(result, 'Challenged').caseId as bigint }
  }

  /**
   * The requester of a VoucherVault claim disputes it within its challenge window, posting the
   * challenge bond (approve the court first): the vault freezes the claim and referees judge it
   * (docs/vouchers.md). Reverts `Vault__NotRequester` / `Vault__ChallengeWindowOver` /
   * `Vault__InvalidClaimStatus` as the vault decides.
   */
  async disputeVoucherClaim(claimId: Hex): Promise<WriteResult & { caseId: bigint; disputeId: bigint }> {
    const result = await this.#send('disputeVoucherClaim', [claimId])
    return {
      ...result,
      caseId: this.#event(result, 'CaseOpened').caseId as bigint,
      disputeId: this.#event(result, 'DisputeOpened').disputeId as bigint,
    }
  }

  /** The VoucherVault whose claims this court judges (zero address: none). */
  voucherVault(): Promise<Address> {
    return this.#read<Address>('voucherVault', [])
  }

  /** Draws a dispute's referees (a block after it opened); `referees` empty if it was re-armed. */
  async drawReferees(disputeId: bigint): Promise<WriteResult & { referees: readonly Address[] }> {
    const result = await this.#send('drawReferees', [disputeId])
    const drawn = this.#events(result, 'RefereesDrawn')[0]
    return { ...result, referees: (drawn?.referees as readonly Address[] | undefined) ?? [] }
  }

  commitVerdict(disputeId: bigint, commitment: Hex): Promise<WriteResult> {
    return this.#send('commitVerdict', [disputeId, commitment])
  }

  revealVerdict(args: { disputeId: bigint; resultHash: Hex; fuel: bigint; salt: Hex }): Promise<WriteResult> {
    return this.#send('revealVerdict', [args.disputeId, args.resultHash, args.fuel, args.salt])
  }

  /** Ends a dispute; `determined` false when no strict majority of referees agreed. */
  async resolveDispute(
    disputeId: bigint,
  ): Promise<WriteResult & { determined: boolean; resultHash: Hex; fuel: bigint; followUp?: bigint }> {
    const result = await this.#send('resolveDispute', [disputeId])
    const resolved = this.#event(result, 'DisputeResolved')
    const followUp = this.#events(result, 'DisputeOpened')[0]
    return {
      ...result,
      determined: resolved.determined as boolean,
      resultHash: resolved.resultHash as Hex,
      fuel: resolved.fuel as bigint,
      ...(followUp ? { followUp: followUp.disputeId as bigint } : {}),
    }
  }

  async getCase(caseId: bigint): Promise<CourtCase> {
    const c = await this.#read<
      Omit<CourtCase, 'caseId' | 'kind' | 'status'> & { kind: number; status: number }
    >('getCase', [caseId])
    return {
      caseId,
      kind: CASE_KINDS[c.kind] ?? 'None',
      status: CASE_STATUSES[c.status] ?? 'None',
      requester: c.requester,
      jobIds: c.jobIds,
      auditBps: c.auditBps,
      auditFee: c.auditFee,
      seedBlock: c.seedBlock,
      auditor: c.auditor,
      challenger: c.challenger,
      bond: c.bond,
      claimedResult: c.claimedResult,
      claimedFuel: c.claimedFuel,
      disputeId: c.disputeId,
      claimId: c.claimId,
    }
  }

  async getDispute(disputeId: bigint): Promise<CourtDispute> {
    const d = await this.#read<Omit<CourtDispute, 'disputeId'>>('getDispute', [disputeId])
    return { disputeId, ...d }
  }

  /** A referee's (or auditor's) commitment and, once revealed, its answer. */
  voteOf(
    disputeId: bigint,
    referee: Address,
  ): Promise<{ commitment: Hex; resultHash: Hex; fuel: bigint; revealed: boolean }> {
    return this.#read('voteOf', [disputeId, referee])
  }

  /** Number of cases opened so far (ids run from 1). */
  caseCount(): Promise<bigint> {
    return this.#read<bigint>('caseCount', [])
  }

  /** The case a job belongs to (0n: none). */
  caseOfJob(jobId: bigint): Promise<bigint> {
    return this.#read<bigint>('caseOfJob', [jobId])
  }

  memberOf(account: Address): Promise<CourtMember> {
    return this.#read<CourtMember>('memberOf', [account])
  }

  config(): Promise<CourtConfig> {
    return this.#read<CourtConfig>('config', [])
  }

  /** Disputes (and audits) whose drawn referees include `referee`, from block `fromBlock` on. */
  async dutiesSince(
    referee: Address,
    fromBlock: bigint,
  ): Promise<{ disputeId: bigint; blockNumber: bigint }[]> {
    try {
      const logs = await this.#contracts.clients.publicClient.getContractEvents({
        address: this.address,
        abi: verificationCourtAbi,
        eventName: 'RefereesDrawn',
        fromBlock,
        strict: true,
      })
      return logs
        .filter((log) => log.args.referees.some((r) => r.toLowerCase() === referee.toLowerCase()))
        .map((log) => ({ disputeId: log.args.disputeId, blockNumber: log.blockNumber }))
    } catch (err) {
      throw ChainError.from(err, 'VerificationCourt.RefereesDrawn')
    }
  }

  /**
   * How the market settled `jobId` (from its JobFinalized or JobSettledByVerifier event), or
   * undefined while it is not settled that way. `slashed` went to the court (verifier path).
   */
  async settlementOf(
    jobId: bigint,
    fromBlock = 0n,
  ): Promise<{ paid: bigint; fee: bigint; refunded: bigint; slashed: bigint; reason?: Hex } | undefined> {
    const { publicClient } = this.#contracts.clients
    const market = this.#contracts.deployment.market
    try {
      const [verified] = await publicClient.getContractEvents({
        address: market,
        abi: jobMarketAbi,
        eventName: 'JobSettledByVerifier',
        args: { jobId },
        fromBlock,
        strict: true,
      })
      if (verified) {
        const { paid, fee, refunded, slashed, reason } = verified.args
        return { paid, fee, refunded, slashed, reason }
      }
      const [finalized] = await publicClient.getContractEvents({
        address: market,
        abi: jobMarketAbi,
        eventName: 'JobFinalized',
        args: { jobId },
        fromBlock,
        strict: true,
      })
      if (!finalized) return undefined
      const { paid, fee, refunded } = finalized.args
      return { paid, fee, refunded, slashed: 0n }
    } catch (err) {
      throw ChainError.from(err, 'JobMarket settlement events')
    }
  }

  /** Every result revealed on the market from `fromBlock` on (what watchers re-check). */
  async revealsSince(
    fromBlock: bigint,
  ): Promise<{ jobId: bigint; provider: Address; resultHash: Hex; fuelUsed: bigint; blockNumber: bigint }[]> {
    try {
      const logs = await this.#contracts.clients.publicClient.getContractEvents({
        address: this.#contracts.deployment.market,
        abi: jobMarketAbi,
        eventName: 'ResultRevealed',
        fromBlock,
        strict: true,
      })
      return logs.map((log) => ({ ...log.args, blockNumber: log.blockNumber }))
    } catch (err) {
      throw ChainError.from(err, 'JobMarket.ResultRevealed')
    }
  }

  /** The market's challenge window in seconds: how long after a reveal a challenge may come. */
  async challengeWindow(): Promise<bigint> {
    try {
      return await this.#contracts.clients.publicClient.readContract({
        address: this.#contracts.deployment.market,
        abi: jobMarketAbi,
        functionName: 'challengeWindow',
      })
    } catch (err) {
      throw ChainError.from(err, 'JobMarket.challengeWindow')
    }
  }

  // ---- plumbing ----

  #send(functionName: string, args: readonly unknown[]): Promise<WriteResult> {
    return this.#contracts.queueWrite(`VerificationCourt.${functionName}`, {
      address: this.address,
      abi: verificationCourtAbi,
      functionName,
      args,
    })
  }

  #read<T>(functionName: string, args: readonly unknown[]): Promise<T> {
    return this.#contracts.readOther(`VerificationCourt.${functionName}`, {
      address: this.address,
      abi: verificationCourtAbi,
      functionName,
      args,
    })
  }

  #events(result: WriteResult, eventName: string): Record<string, unknown>[] {
    return parseEventLogs({ abi: verificationCourtAbi, logs: result.receipt.logs })
      .filter((e) => e.eventName === eventName && e.address.toLowerCase() === this.address.toLowerCase())
      .map((e) => e.args as Record<string, unknown>)
  }

  #event(result: WriteResult, eventName: string): Record<string, unknown> {
    const found = this.#events(result, eventName)[0]
    if (!found) throw new ChainError(`VerificationCourt: no ${eventName} event in the receipt`)
    return found
  }
}

/** The court client for `contracts`' signer. */
export function createVerificationCourt(contracts: BazaarContracts, address: Address): VerificationCourt {
  return new VerificationCourt(contracts, address)
}
