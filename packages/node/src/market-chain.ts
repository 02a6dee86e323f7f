import type { JobRecord } from '@bazaar/chain'
import type { AwardScan } from '@bazaar/chain/bazaar-contracts'
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
  /** Seconds after a reveal during which only the requester may finalize (a market constant). */
  challengeWindow(): Promise<bigint>
  /** The latest block number (not cached). */
  blockNumber(): Promise<bigint>
  /** Every award on the market (anyone's) from `fromBlock` to the latest block, with block times. */
  awardsSince(fromBlock: bigint): Promise<AwardScan>
  /**
   * Escrows and creates the job (one transaction); returns the new id. Deadlines count from
   * block time when the transaction is sent (not when this is called, which may be long before
   * under load): awards are accepted for `biddingSeconds`; the provider then has
   * `executionSeconds` to commit and as long again to reveal.
   */
  createJob(args: {
    specHash: Hex
    maxPricePerFuel: bigint
    maxFuel: bigint
    biddingSeconds: bigint
    executionSeconds: bigint
  }): Promise<TxOutcome & { jobId: bigint; bidDeadline: bigint }>
  cancelJob(jobId: bigint): Promise<TxOutcome>
  award(args: {
    jobId: bigint
    provider: Address
    pricePerFuel: bigint
    expiry: bigint
    signature: Hex
  }): Promise<TxOutcome>
  commitResult(jobId: bigint, commitment: Hex): Promise<TxOutcome>
  /**
   * Whether the job's provider may reveal now: false while the job is a replica whose case waits
   * for another replica's commit (the court's reveal barrier).
   */
  revealOpen(jobId: bigint): Promise<boolean>
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
