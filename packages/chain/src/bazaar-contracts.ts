import {
  computeTokenAbi,
  type JobStatus,
  jobMarketAbi,
  jobStatusName,
  providerRegistryAbi,
} from '@bazaar/contracts'
import { type BidMessage, marketDomain, type SignedBid } from '@bazaar/protocol'
import {
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  encodeFunctionData,
  type Hash,
  type Hex,
  parseEventLogs,
  parseSignature,
  type TransactionReceipt,
  type TypedDataDomain,
} from 'viem'
import { ChainError } from './chain-error.ts'
import { broadcastThroughOutage, type OutageOptions, throughOutage } from './chain-outage.ts'
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
  /** Unix seconds when the requester stops collecting bids (informs providers; <= awardDeadline). */
  bidDeadline: bigint
  /** Unix seconds: last moment to award; afterwards anyone may reclaim the open job. */
  awardDeadline: bigint
  /** Seconds the awarded provider has, from the award, to commit. */
  commitWindow: bigint
  /** Seconds the provider has, from its commit, to reveal. */
  revealWindow: bigint
}

export interface RevealParams {
  jobId: bigint
  resultHash: Hex
  fuelUsed: bigint
  salt: Hex
}

/** An EIP-2612 permit signature, split for a contract call. */
export interface PermitSignature {
  value: bigint
  deadline: bigint
  v: number
  r: Hex
  s: Hex
}

/** A job as stored by JobMarket (terms plus its single assignment), with the status as a name. */
export interface JobRecord {
  jobId: bigint
  status: JobStatus
  requester: Address
  specHash: Hex
  maxPricePerFuel: bigint
  maxFuel: bigint
  escrow: bigint
  /** Protocol fee of this job in basis points (snapshot at creation). */
  feeBps: number
  bidDeadline: bigint
  awardDeadline: bigint
  commitWindow: bigint
  revealWindow: bigint
  /** Deadline of the current phase: award while Open, commit while Awarded, reveal while Committed. */
  deadline: bigint
  /**
   * Same as `deadline`: past it, `reclaimExpired` refunds the job (and slashes an awarded
   * provider). Named for the node's requester loop, which waits on it while work is running.
   */
  executionDeadline: bigint
  provider: Address
  pricePerFuel: bigint
  collateral: bigint
  commitment: Hex
  resultHash: Hex
  fuelUsed: bigint
  revealedAt: bigint
}

/** A provider's stake buckets and jail state (ProviderRegistry.accountOf). */
export interface StakeAccount {
  staked: bigint
  locked: bigint
  unbonding: bigint
  unbondingReadyAt: bigint
  jailedUntil: bigint
  faults: bigint
}

/** A provider's on-chain track record (ProviderRegistry.reputationOf); WAD = 1e18. */
export interface Reputation {
  completed: bigint
  failed: bigint
  unitsServed: bigint
  slashedAmount: bigint
  /** Completed jobs decayed to now (WAD per job). */
  good: bigint
  /** Faults decayed to now (WAD per fault). */
  bad: bigint
  stake: bigint
  /** good / (good + bad + 1) x stake / (stake + minStake), WAD; 0 while jailed. */
  score: bigint
}

/** One JobAwarded event: a clearing price on the market, by any requester. */
export interface AwardEvent {
  jobId: bigint
  provider: Address
  pricePerFuel: bigint
  collateral: bigint
  blockNumber: bigint
  logIndex: number
  /** Block time of the award, unix seconds. */
  timeSeconds: bigint
}

/** What `awardsSince` found, and the last block it covered (continue from `toBlock + 1n`). */
export interface AwardScan {
  awards: AwardEvent[]
  toBlock: bigint
}

export interface RegistryParameters {
  minStake: bigint
  unbondingDelay: number
  jailDuration: number
  reputationHalfLife: number
  maxFaults: number
}

export interface BazaarContractsInit {
  clients: ChainClients
  deployment: Pick<Deployment, 'token' | 'registry' | 'market'>
  /** Longest wait for a transaction receipt, in ms (default 120 000). */
  receiptTimeout?: number
  /** Lifetime of the permits this facade signs, in seconds of block time (default 3600). */
  permitLifetime?: bigint
  /**
   * Pauses between tries of a write while the RPC endpoint is unreachable (default
   * CHAIN_RETRY_PAUSES_MS, about a minute in all); `[]` fails at the first unanswered request.
   */
  outagePausesMs?: readonly number[]
}

/** Tail of the write queue per (chain, signer), shared by every facade of that signer. */
const writeQueues = new Map<string, Promise<unknown>>()

const permitTypes = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const

/**
 * Typed access to the Bazaar contracts for one signer. Every write waits for its receipt and
 * returns its gas; writes of one signer run one at a time so concurrent callers never reuse a
 * nonce (transaction or permit). Reverts throw ChainError naming the decoded custom error.
 */
export class BazaarContracts {
  readonly clients: ChainClients
  readonly deployment: Pick<Deployment, 'token' | 'registry' | 'market'>
  readonly #receiptTimeout: number
  readonly #permitLifetime: bigint
  readonly #outage: OutageOptions
  readonly #queueKey: string
  #tokenDomain: Promise<TypedDataDomain> | undefined

  constructor(init: BazaarContractsInit) {
    this.clients = init.clients
    this.deployment = init.deployment
    this.#receiptTimeout = init.receiptTimeout ?? 120_000
    this.#permitLifetime = init.permitLifetime ?? 3600n
    this.#outage = init.outagePausesMs ? { pausesMs: init.outagePausesMs } : {}
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
      this.#contractWrite({
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
      this.#contractWrite({
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

  /**
   * Signs an EIP-2612 permit letting `spender` take `value` of this signer's tokens until
   * `deadline`. Uses the token's current nonce: call it inside the write queue (as the
   * `...WithPermit` methods do) or the nonce may be stale by the time it is used.
   */
  async signPermit(spender: Address, value: bigint, deadline: bigint): Promise<PermitSignature> {
    const [nonce, domain] = await Promise.all([
      this.#read('ComputeToken.nonces', () =>
        this.clients.publicClient.readContract({
          address: this.deployment.token,
          abi: computeTokenAbi,
          functionName: 'nonces',
          args: [this.address],
        }),
      ),
      this.#permitDomain(),
    ])
    const signature = await this.clients.account.signTypedData({
      domain,
      types: permitTypes,
      primaryType: 'Permit',
      message: { owner: this.address, spender, value, nonce, deadline },
    })
    const { r, s, yParity } = parseSignature(signature)
    return { value, deadline, v: (yParity ?? 0) + 27, r, s }
  }

  // ---- registry ----

  /** Stakes `amount` (first stake or top-up); approve the registry for it first. */
  stake(amount: bigint): Promise<WriteResult> {
    return this.#write('ProviderRegistry.stake', () =>
      this.#contractWrite({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'stake',
        args: [amount],
      }),
    )
  }

  /** Stakes `amount` in one transaction, approving by a permit signed here. */
  stakeWithPermit(amount: bigint): Promise<WriteResult> {
    return this.#write('ProviderRegistry.stakeWithPermit', async () => {
      const permit = await this.signPermit(this.deployment.registry, amount, await this.#permitDeadline())
      return this.#contractWrite({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'stakeWithPermit',
        args: [amount, permit.deadline, permit.v, permit.r, permit.s],
      })
    })
  }

  /** Moves `amount` of free stake to unbonding (still slashable; withdrawable after the delay). */
  requestUnbond(amount: bigint): Promise<WriteResult> {
    return this.#write('ProviderRegistry.requestUnbond', () =>
      this.#contractWrite({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'requestUnbond',
        args: [amount],
      }),
    )
  }

  /** Returns all unbonding stake to active stake. */
  cancelUnbonding(): Promise<WriteResult> {
    return this.#write('ProviderRegistry.cancelUnbonding', () =>
      this.#contractWrite({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'cancelUnbonding',
      }),
    )
  }

  /** Withdraws all unbonded stake once the unbonding delay has passed. */
  withdraw(): Promise<WriteResult> {
    return this.#write('ProviderRegistry.withdraw', () =>
      this.#contractWrite({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'withdraw',
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

  availableOf(provider: Address): Promise<bigint> {
    return this.#read('ProviderRegistry.availableOf', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'availableOf',
        args: [provider],
      }),
    )
  }

  accountOf(provider: Address): Promise<StakeAccount> {
    return this.#read('ProviderRegistry.accountOf', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'accountOf',
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

  /** A provider's counters and stake-weighted, decayed score, for selection. */
  async reputationOf(provider: Address): Promise<Reputation> {
    const rep = await this.#read('ProviderRegistry.reputationOf', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'reputationOf',
        args: [provider],
      }),
    )
    return { ...rep, completed: BigInt(rep.completed), failed: BigInt(rep.failed) }
  }

  registryParameters(): Promise<RegistryParameters> {
    return this.#read('ProviderRegistry.parameters', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.registry,
        abi: providerRegistryAbi,
        functionName: 'parameters',
      }),
    )
  }

  // ---- market ----

  /** Opens a job, escrowing maxPricePerFuel * maxFuel (approve the market for it first). */
  async createJob(params: CreateJobParams): Promise<WriteResult & { jobId: bigint }> {
    const result = await this.#write('JobMarket.createJob', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'createJob',
        args: [jobParams(params)],
      }),
    )
    return { ...result, jobId: this.#createdJobId(result, 'JobMarket.createJob') }
  }

  /** Opens a job in one transaction: the escrow is approved by a permit signed here. */
  async createJobWithPermit(
    params: CreateJobParams | ((blockTime: bigint) => CreateJobParams),
  ): Promise<WriteResult & { jobId: bigint }> {
    const result = await this.#write('JobMarket.createJobWithPermit', async () => {
      // Terms given as a function get their deadlines from the time taken here, inside the
      // signer's queue: however long the queue was, the deadlines start when the job is sent.
      // The latest block's time, or this clock when later: a chain with bursty traffic (an
      // automining devnet) can leave its latest block behind the time the next one will carry.
      const latest = (await this.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp
      const wall = BigInt(Math.floor(Date.now() / 1000))
      const terms = typeof params === 'function' ? params(latest > wall ? latest : wall) : params
      const escrow = terms.maxPricePerFuel * terms.maxFuel
      const permit = await this.signPermit(this.deployment.market, escrow, await this.#permitDeadline())
      return this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'createJobWithPermit',
        args: [jobParams(terms), permit.value, permit.deadline, permit.v, permit.r, permit.s],
      })
    })
    return { ...result, jobId: this.#createdJobId(result, 'JobMarket.createJobWithPermit') }
  }

  cancelJob(jobId: bigint): Promise<WriteResult> {
    return this.#write('JobMarket.cancelJob', () =>
      this.#contractWrite({
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
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'award',
        args: [bid.jobId, bid.provider, bid.pricePerFuel, bid.expiry, bid.signature],
      }),
    )
  }

  /** Replaces a provider that missed its deadline with another signed bid (requester only). */
  reaward(bid: SignedBid): Promise<WriteResult> {
    return this.#write('JobMarket.reaward', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'reaward',
        args: [bid.jobId, bid.provider, bid.pricePerFuel, bid.expiry, bid.signature],
      }),
    )
  }

  /** Commits to a result (awarded provider only); compute `commitment` with `resultCommitment`. */
  commitResult(jobId: bigint, commitment: Hex): Promise<WriteResult> {
    return this.#write('JobMarket.commitResult', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'commitResult',
        args: [jobId, commitment],
      }),
    )
  }

  revealResult(params: RevealParams): Promise<WriteResult> {
    return this.#write('JobMarket.revealResult', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'revealResult',
        args: [params.jobId, params.resultHash, params.fuelUsed, params.salt],
      }),
    )
  }

  finalize(jobId: bigint): Promise<WriteResult> {
    return this.#write('JobMarket.finalize', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'finalize',
        args: [jobId],
      }),
    )
  }

  reclaimExpired(jobId: bigint): Promise<WriteResult> {
    return this.#write('JobMarket.reclaimExpired', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'reclaimExpired',
        args: [jobId],
      }),
    )
  }

  /** Collects payments whose push transfer failed earlier. */
  claim(): Promise<WriteResult> {
    return this.#write('JobMarket.claim', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'claim',
      }),
    )
  }

  /** Verifier only: settles a job, paying `fuelToPay` and slashing when the provider is at fault. */
  settleByVerifier(args: {
    jobId: bigint
    fuelToPay: bigint
    providerAtFault: boolean
    reason: Hex
    evidence: Hex
  }): Promise<WriteResult> {
    return this.#write('JobMarket.settleByVerifier', () =>
      this.#contractWrite({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'settleByVerifier',
        args: [args.jobId, args.fuelToPay, args.providerAtFault, args.reason, args.evidence],
      }),
    )
  }

  /** Deferred payments `account` can claim. */
  owed(account: Address): Promise<bigint> {
    return this.#read('JobMarket.owed', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'owed',
        args: [account],
      }),
    )
  }

  /**
   * Whether the job's provider may reveal now. False only for a replica whose case still waits
   * for another replica's commit (the court's reveal barrier: no replica can copy a revealed
   * result); such a reveal would revert with JobMarket__RevealBarred.
   */
  revealOpen(jobId: bigint): Promise<boolean> {
    return this.#read('JobMarket.revealOpen', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'revealOpen',
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
      specHash: job.specHash,
      maxPricePerFuel: job.maxPricePerFuel,
      maxFuel: job.maxFuel,
      escrow: job.escrow,
      feeBps: job.feeBps,
      bidDeadline: job.bidDeadline,
      awardDeadline: job.awardDeadline,
      commitWindow: BigInt(job.commitWindow),
      revealWindow: BigInt(job.revealWindow),
      deadline: job.deadline,
      executionDeadline: job.deadline,
      provider: job.provider,
      pricePerFuel: job.pricePerFuel,
      collateral: job.collateral,
      commitment: job.commitment,
      resultHash: job.resultHash,
      fuelUsed: job.fuelUsed,
      revealedAt: job.revealedAt,
    }
  }

  /**
   * Every JobAwarded event (anyone's awards, re-awards included) from `fromBlock` up to
   * `toBlock` (default: the latest block), oldest first, each with its block time. Scans in
   * ranges of `maxBlockRange` blocks (default 5,000) so public RPC endpoints that cap
   * eth_getLogs ranges still answer.
   */
  async awardsSince(
    fromBlock: bigint,
    options: { toBlock?: bigint; maxBlockRange?: bigint } = {},
  ): Promise<AwardScan> {
    const { publicClient } = this.clients
    const latest =
      options.toBlock ??
      (await this.#read('eth_blockNumber', () => publicClient.getBlockNumber({ cacheTime: 0 })))
    const range = options.maxBlockRange ?? 5_000n
    if (range < 1n) throw new ChainError('awardsSince: maxBlockRange must be at least 1')
    const awards: AwardEvent[] = []
    const times = new Map<bigint, bigint>()
    for (let from = fromBlock < 0n ? 0n : fromBlock; from <= latest; from += range) {
      const to = from + range - 1n < latest ? from + range - 1n : latest
      const logs = await this.#read('JobMarket.JobAwarded logs', () =>
        publicClient.getContractEvents({
          address: this.deployment.market,
          abi: jobMarketAbi,
          eventName: 'JobAwarded',
          fromBlock: from,
          toBlock: to,
          strict: true,
        }),
      )
      for (const log of logs) {
        if (log.blockNumber === null || log.logIndex === null) continue // pending: not an award yet
        let time = times.get(log.blockNumber)
        if (time === undefined) {
          const blockNumber = log.blockNumber
          time = (await this.#read('eth_getBlockByNumber', () => publicClient.getBlock({ blockNumber })))
            .timestamp
          times.set(blockNumber, time)
        }
        awards.push({
          jobId: log.args.jobId,
          provider: log.args.provider,
          pricePerFuel: log.args.pricePerFuel,
          collateral: log.args.collateral,
          blockNumber: log.blockNumber,
          logIndex: log.logIndex,
          timeSeconds: time,
        })
      }
    }
    return { awards, toBlock: latest < fromBlock ? fromBlock - 1n : latest }
  }

  /** Collateral an award at `pricePerFuel` for `maxFuel` would lock under the current policy. */
  collateralFor(pricePerFuel: bigint, maxFuel: bigint): Promise<bigint> {
    return this.#read('JobMarket.collateralFor', () =>
      this.clients.publicClient.readContract({
        address: this.deployment.market,
        abi: jobMarketAbi,
        functionName: 'collateralFor',
        args: [pricePerFuel, maxFuel],
      }),
    )
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

  /**
   * Estimates, then sends with 25% headroom. An exact estimate can run out of gas when the
   * transaction lands in a later block: gas depends on block time and on state that moves in
   * between (e.g. a storage write that is a no-op in the estimate's second costs 2 800 more
   * in the next one).
   */
  async #contractWrite<
    const abi extends Abi,
    functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
  >(call: {
    address: Address
    abi: abi
    functionName: functionName
    args?: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>
  }): Promise<Hash> {
    const { account, publicClient, walletClient } = this.clients
    // Signed here and sent as raw bytes, so a send whose answer an RPC outage swallowed is
    // sent again as the very same transaction (same nonce and hash), never as a second one.
    const gas = await publicClient.estimateContractGas({ ...call, account } as never)
    const request = await walletClient.prepareTransactionRequest({
      account,
      to: call.address,
      data: encodeFunctionData(call as never),
      gas: gas + gas / 4n,
    } as never)
    const serialized = await walletClient.signTransaction(request as never)
    return broadcastThroughOutage(publicClient, serialized, this.#outage)
  }

  #createdJobId(result: WriteResult, label: string): bigint {
    const [created] = parseEventLogs({
      abi: jobMarketAbi,
      eventName: 'JobCreated',
      logs: result.receipt.logs.filter((log) => sameAddress(log.address, this.deployment.market)),
    })
    if (!created)
      throw new ChainError(`${label}: no JobCreated event in receipt`, { details: { hash: result.hash } })
    return created.args.jobId
  }

  /** The token's EIP-712 domain, read once (ERC-5267) so any EIP-2612 token works. */
  #permitDomain(): Promise<TypedDataDomain> {
    this.#tokenDomain ??= this.#read('ComputeToken.eip712Domain', async () => {
      const [, name, version, chainId, verifyingContract] = await this.clients.publicClient.readContract({
        address: this.deployment.token,
        abi: computeTokenAbi,
        functionName: 'eip712Domain',
      })
      return { name, version, chainId: Number(chainId), verifyingContract }
    }).catch((err: unknown) => {
      this.#tokenDomain = undefined
      throw err
    })
    return this.#tokenDomain
  }

  /** Permits are judged by block time, which need not match this machine's clock. */
  async #permitDeadline(): Promise<bigint> {
    const block = await this.#read('eth_getBlockByNumber', () =>
      this.clients.publicClient.getBlock({ blockTag: 'latest' }),
    )
    return block.timestamp + this.#permitLifetime
  }

  // ---- plumbing ----

  /**
   * Sends a write to another contract of the suite (e.g. the verification court) through this
   * signer's queue, so it never races this facade's own writes for a nonce; same gas headroom.
   */
  queueWrite(
    label: string,
    call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] },
  ) {
    return this.#write(label, () => this.#contractWrite(call as never))
  }

  /** Reads another contract of the suite (court, vault), its failures as ChainError naming `label`. */
  readOther<T>(
    label: string,
    call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] },
  ): Promise<T> {
    return this.#read(label, async () => (await this.clients.publicClient.readContract(call as never)) as T)
  }

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
        // An unreachable endpoint before the transaction left is retried from the start (nothing
        // happened on-chain); after it left, only the same bytes are sent again (`#contractWrite`).
        hash = await throughOutage(send, this.#outage)
        const sent = hash
        receipt = await throughOutage(
          () =>
            this.clients.publicClient.waitForTransactionReceipt({
              hash: sent,
              timeout: this.#receiptTimeout,
            }),
          this.#outage,
        )
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

function jobParams(params: CreateJobParams) {
  return {
    specHash: params.specHash,
    maxPricePerFuel: params.maxPricePerFuel,
    maxFuel: params.maxFuel,
    bidDeadline: params.bidDeadline,
    awardDeadline: params.awardDeadline,
    commitWindow: Number(params.commitWindow),
    revealWindow: Number(params.revealWindow),
  }
}
