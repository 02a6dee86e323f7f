import {
  computeTokenAbi,
  type JobStatus,
  jobMarketAbi,
  jobStatusName,
  providerRegistryAbi,
} from '@bazaar/contracts'
import { type BidMessage, marketDomain, type SignedBid } from '@bazaar/protocol'
import {
  type Address,
  type Hash,
  type Hex,
  parseEventLogs,
  type TransactionReceipt,
  type TypedDataDomain,
} from 'viem'
import { ChainError } from './chain-error.ts'
import type { ChainClients } from './clients.ts'
import type { Deployment } from './deploy.ts'
import { signBid } from './sign-bid.ts'

/** What every write returns once its transaction is mined. */
export interface WriteResult {
  hash: Hash
  gasUsed: bigint
  blockNumber: bigint
  receipt: TransactionReceipt
}

export interface CreateJobParams {
  /** Content hash of the job descriptor (bytes32). */
  specHash: Hex
  maxPricePerFuel: bigint
  maxFuel: bigint
  /** Unix seconds. */
  bidDeadline: bigint
  /** Unix seconds by which the provider must commit and reveal. */
  executionDeadline: bigint
}

export interface RevealParams {
  jobId: bigint
  resultHash: Hex
  fuelUsed: bigint
  salt: Hex
}

/** A job as stored by JobMarket, with the status as a name. */
export interface JobRecord {
  jobId: bigint
  status: JobStatus
  requester: Address
  provider: Address
  specHash: Hex
  maxPricePerFuel: bigint
  maxFuel: bigint
  bidDeadline: bigint
  executionDeadline: bigint
  pricePerFuel: bigint
  escrow: bigint
  collateral: bigint
  commitment: Hex
  resultHash: Hex
  fuelUsed: bigint
  revealedAt: bigint
}

export interface BazaarContractsInit {
  clients: ChainClients
  deployment: Pick<Deployment, 'token' | 'registry' | 'market'>
  /** Longest wait for a transaction receipt, in ms (default 120 000). */
  receiptTimeout?: number
}

/** Tail of the write queue per (chain, signer), shared by every facade of that signer. */
const writeQueues = new Map<string, Promise<unknown>>()

/**
 * Typed access to the Bazaar contracts for one signer. Every write waits for its receipt and
 * returns its gas; writes of one signer run one at a time so concurrent callers never reuse a
 * nonce. Reverts throw ChainError naming the decoded custom error.
 */
export class BazaarContracts {
  readonly clients: ChainClients
  readonly deployment: Pick<Deployment, 'token' | 'registry' | 'market'>
  readonly #receiptTimeout: number
  readonly #queueKey: string

  constructor(init: BazaarContractsInit) {
    this.clients = init.clients
    this.deployment = init.deployment
    this.#receiptTimeout = init.receiptTimeout ?? 120_000
    this.#queueKey = `${init.clients.chainId}:${init.clients.account.address.toLowerCase()}`
  }

  /** The signer's address. */
  get address(): Address {
    return this.clients.account.address
  }

  /** The EIP-712 domain bids on this market are signed under. */
  get domain(): TypedDataDomain {
    return marketDomain(this.clients.chainId, this.deployment.market)
  }

  /** Signs a bid as the provider with this signer's key. */
  signBid(bid: Omit<BidMessage, 'provider'>): Promise<SignedBid> {
    return signBid(this.clients.account, this.domain, { ...bid, provider: this.address })
  }

  // ---- token ----

  approve(spender: Address, amount: bigint): Promise<WriteResult> {
    return this.#write('ComputeToken.approve', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.token,
        abi: computeTokenAbi,
        functionName: 'approve',
        args: [spender, amount],
      }),
    )
  }

  /** Owner only (the deployer): the devnet faucet. */
  mint(to: Address, amount: bigint): Promise<WriteResult> {
    return this.#write('ComputeToken.mint', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.token,
        abi: computeTokenAbi,
        functionName: 'mint',
        args: [to, amount],
      }),
    )
  }

  balanceOf(owner: Address): Promise<bigint> {
    return this.#read('ComputeToken.balanceOf', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.token,
        abi: computeTokenAbi,
        functionName: 'balanceOf',
        args: [owner],
      }),
    )
  }

  totalSupply(): Promise<bigint> {
    return this.#read('ComputeToken.totalSupply', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.token,
        abi: computeTokenAbi,
        functionName: 'totalSupply',
      }),
    )
  }

  // ---- registry ----

  /** Stakes `amount`; approve the registry for it first. */
  stake(amount: bigint): Promise<WriteResult> {
    return this.#write('ProviderRegistry.stake', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'stake',
        args: [amount],
      }),
    )
  }

  unstake(amount: bigint): Promise<WriteResult> {
    return this.#write('ProviderRegistry.unstake', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'unstake',
        args: [amount],
      }),
    )
  }

  stakeOf(provider: Address): Promise<bigint> {
    return this.#read('ProviderRegistry.stakeOf', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'stakeOf',
        args: [provider],
      }),
    )
  }

  lockedOf(provider: Address): Promise<bigint> {
    return this.#read('ProviderRegistry.lockedOf', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'lockedOf',
        args: [provider],
      }),
    )
  }

  isEligible(provider: Address): Promise<boolean> {
    return this.#read('ProviderRegistry.isEligible', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'isEligible',
        args: [provider],
      }),
    )
  }

  // ---- market ----

  /** Opens a job, escrowing maxPricePerFuel * maxFuel (approve the market for it first). */
  async createJob(params: CreateJobParams): Promise<WriteResult & { jobId: bigint }> {
    const result = await this.#write('JobMarket.createJob', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'createJob',
        args: [
          params.specHash,
          params.maxPricePerFuel,
          params.maxFuel,
          params.bidDeadline,
          params.executionDeadline,
        ],
      }),
    )
    const [created] = parseEventLogs({
      abi: jobMarketAbi,
      eventName: 'JobCreated',
      logs: result.receipt.logs.filter((log) => sameAddress(log.address, this.deployment.market)),
    })
    if (!created)
      throw new ChainError('JobMarket.createJob: no JobCreated event in receipt', {
        details: { hash: result.hash },
      })
    return { ...result, jobId: created.args.jobId }
  }

  cancelJob(jobId: bigint): Promise<WriteResult> {
    return this.#write('JobMarket.cancelJob', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'cancelJob',
        args: [jobId],
      }),
    )
  }

  /** Awards `bid.jobId` to the signed bid (requester only). */
  award(bid: SignedBid): Promise<WriteResult> {
    return this.#write('JobMarket.award', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'award',
        args: [bid.jobId, bid.provider, bid.pricePerFuel, bid.expiry, bid.signature],
      }),
    )
  }

  /** Commits to a result (awarded provider only); compute `commitment` with `resultCommitment`. */
  commitResult(jobId: bigint, commitment: Hex): Promise<WriteResult> {
    return this.#write('JobMarket.commitResult', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'commitResult',
        args: [jobId, commitment],
      }),
    )
  }

  revealResult(params: RevealParams): Promise<WriteResult> {
    return this.#write('JobMarket.revealResult', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'revealResult',
        args: [params.jobId, params.resultHash, params.fuelUsed, params.salt],
      }),
    )
  }

  finalize(jobId: bigint): Promise<WriteResult> {
    return this.#write('JobMarket.finalize', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'finalize',
        args: [jobId],
      }),
    )
  }

  reclaimExpired(jobId: bigint): Promise<WriteResult> {
    return this.#write('JobMarket.reclaimExpired', () =>
      this.clients.walletClient.writeContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'reclaimExpired',
        args: [jobId],
      }),
    )
  }

  async getJob(jobId: bigint): Promise<JobRecord> {
    const job = await this.#read('JobMarket.getJob', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'getJob',
        args: [jobId],
      }),
    )
    return {
      jobId,
      status: jobStatusName(job.status),
      requester: job.requester,
      provider: job.provider,
      specHash: job.specHash,
      maxPricePerFuel: job.maxPricePerFuel,
      maxFuel: job.maxFuel,
      bidDeadline: job.bidDeadline,
      executionDeadline: job.executionDeadline,
      pricePerFuel: job.pricePerFuel,
      escrow: job.escrow,
      collateral: job.collateral,
      commitment: job.commitment,
      resultHash: job.resultHash,
      fuelUsed: job.fuelUsed,
      revealedAt: job.revealedAt,
    }
  }

  /** The digest JobMarket verifies for a bid (for cross-checking off-chain signing). */
  bidDigest(bid: BidMessage): Promise<Hex> {
    return this.#read('JobMarket.bidDigest', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'bidDigest',
        args: [bid.jobId, bid.provider, bid.pricePerFuel, bid.expiry],
      }),
    )
  }

  // ---- plumbing ----

  async #read<T>(label: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      throw ChainError.from(err, label)
    }
  }

  #write(label: string, send: () => Promise<Hash>): Promise<WriteResult> {
    const run = async (): Promise<WriteResult> => {
      let hash: Hash
      let receipt: TransactionReceipt
      try {
        hash = await send()
        receipt = await this.clients.publicClient.waitForTransactionReceipt({
          hash,
          timeout: this.#receiptTimeout,
        })
      } catch (err) {
        throw ChainError.from(err, label)
      }
      if (receipt.status !== 'success') {
        throw new ChainError(`${label} reverted on-chain`, {
          details: { hash, blockNumber: receipt.blockNumber },
        })
      }
      return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, receipt }
    }
    const tail = writeQueues.get(this.#queueKey) ?? Promise.resolve()
    const result = tail.then(run, run)
    const settled = result.then(
      () => undefined,
      () => undefined,
    )
    writeQueues.set(this.#queueKey, settled)
    void settled.then(() => {
      if (writeQueues.get(this.#queueKey) === settled) writeQueues.delete(this.#queueKey)
    })
    return result
  }
}

/** Facade for one signer over a deployment. */
export function createBazaarContracts(init: BazaarContractsInit): BazaarContracts {
  return new BazaarContracts(init)
}

function sameAddress(a: Address, b: Address): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
