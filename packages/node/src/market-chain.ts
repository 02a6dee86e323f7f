import type { JobRecord } from '@bazaar/chain'
import type { Address, Hex } from 'viem'

/**
 * What the node's roles need from the settlement layer, for one signer. Implemented over
 * viem and the deployed contracts by `createMarketChain`; kept narrow so role logic reads
 * as the job's life and not as RPC plumbing.
 */
export interface TxOutcome {
  hash: Hex
  gasUsed: bigint
}

export interface MarketChain {
  readonly address: Address
  readonly chainId: number
  readonly market: Address
  /** Gas spent by this signer's transactions so far. */
  readonly gasSpent: bigint
  nowSeconds(): Promise<bigint>
  getJob(jobId: bigint): Promise<JobRecord>
  isEligible(provider: Address): Promise<boolean>
  /**
   * Escrows and creates the job (one transaction); returns the new id. Awards are accepted until
   * `bidDeadline`; the provider then has `executionDeadline - bidDeadline` seconds to commit
   * and as long again to reveal.
   */
  createJob(args: {
    specHash: Hex
    maxPricePerFuel: bigint
    maxFuel: bigint
    bidDeadline: bigint
    executionDeadline: bigint
  }): Promise<TxOutcome & { jobId: bigint }>
  cancelJob(jobId: bigint): Promise<TxOutcome>
  award(args: {
    jobId: bigint
    provider: Address
    pricePerFuel: bigint
    expiry: bigint
    signature: Hex
  }): Promise<TxOutcome>
  commitResult(jobId: bigint, commitment: Hex): Promise<TxOutcome>
  revealResult(args: { jobId: bigint; resultHash: Hex; fuelUsed: bigint; salt: Hex }): Promise<TxOutcome>
  finalize(jobId: bigint): Promise<TxOutcome & { paid: bigint; refunded: bigint }>
  reclaimExpired(jobId: bigint): Promise<TxOutcome>
  signBid(bid: { jobId: bigint; pricePerFuel: bigint; expiry: bigint }): Promise<Hex>
  verifyBid(bid: {
    jobId: bigint
    provider: Address
    pricePerFuel: bigint
    expiry: bigint
    signature: Hex
  }): Promise<boolean>
  resultCommitment(args: { resultHash: Hex; fuelUsed: bigint; salt: Hex; provider: Address }): Hex
}
