import { voucherVaultAbi } from '@bazaar/contracts'
import {
  type VoucherAward,
  type VoucherTerms,
  vaultDomain,
  voucherAwardTypes,
  voucherTypes,
} from '@bazaar/protocol'
import {
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type LocalAccount,
  parseEventLogs,
  recoverTypedDataAddress,
  type TypedDataDomain,
  zeroAddress,
} from 'viem'
import type { BazaarContracts, WriteResult } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'

/** One (requester, provider) pair of the vault (`channelOf`). */
export interface VaultChannel {
  balance: bigint
  /** Paid to the provider so far, by vouchers and claims: the one counter. */
  collected: bigint
  /** Highest sequence a redeemed voucher covered. */
  paidThrough: bigint
  thawReadyAt: bigint
  thawAmount: bigint
}

export const VAULT_CLAIM_STATUSES = ['None', 'Pending', 'Disputed', 'Paid', 'Rejected'] as const
export type VaultClaimStatus = (typeof VAULT_CLAIM_STATUSES)[number]

export interface VaultClaim {
  claimId: Hex
  requester: Address
  provider: Address
  sequence: bigint
  amount: bigint
  status: VaultClaimStatus
  /** End of the challenge window while Pending; end of the verifier's time while Disputed. */
  deadline: bigint
  /** The awarded job (signed in the award): the job id a referee re-executes under. */
  jobId: bigint
  specHash: Hex
  resultHash: Hex
  /** Fuel the provider billed (amount = fuelUsed x the award's price). */
  fuelUsed: bigint
  /** The award's fuel limit: what a referee re-executes the job under. */
  maxFuel: bigint
}

export interface ThawStartedEvent {
  requester: Address
  provider: Address
  amount: bigint
  readyAt: bigint
  blockNumber: bigint
}

export interface SignerRevokedEvent {
  requester: Address
  signer: Address
  effectiveAt: bigint
  blockNumber: bigint
}

export interface ClaimFiledEvent {
  claimId: Hex
  requester: Address
  provider: Address
  sequence: bigint
  /** The awarded job (signed in the award). */
  jobId: bigint
  amount: bigint
  specHash: Hex
  resultHash: Hex
  challengeEnds: bigint
  blockNumber: bigint
}

export interface VaultDelays {
  thawDelay: bigint
  signerRevokeDelay: bigint
  claimWindow: bigint
  disputeTimeout: bigint
}

/**
 * Typed access to the VoucherVault (docs/vouchers.md) for one signer. Writes go through the
 * signer's BazaarContracts queue, so they never race its other writes for a nonce; reverts throw
 * ChainError naming the vault's custom error (`Vault__...`).
 */
export class VoucherVault {
  readonly address: Address
  readonly #contracts: BazaarContracts

  constructor(contracts: BazaarContracts, address: Address) {
    this.#contracts = contracts
    this.address = address
  }

  /** The signer's address. */
  get account(): Address {
    return this.#contracts.address
  }

  get domain(): TypedDataDomain {
    return vaultDomain(this.#contracts.clients.chainId, this.address)
  }

  // ---- money ----

  /** Deposits into the escrow for `provider` (address 0: unassigned); needs an allowance. */
  deposit(provider: Address, amount: bigint): Promise<WriteResult> {
    return this.#send('deposit', [provider, amount])
  }

  /**
   * Approves by EIP-2612 permit and deposits in one transaction. The permit is signed just before
   * the write is queued: callers of one signer that also use permits elsewhere should not run
   * them concurrently (the vault ignores a failed permit when an allowance is there).
   */
  async depositWithPermit(provider: Address, amount: bigint, lifetimeSeconds = 3600n): Promise<WriteResult> {
    const now = await this.nowSeconds()
    const permit = await this.#contracts.signPermit(this.address, amount, now + lifetimeSeconds)
    return this.#send('depositWithPermit', [provider, amount, permit.deadline, permit.v, permit.r, permit.s])
  }

  assign(provider: Address, amount: bigint): Promise<WriteResult> {
    return this.#send('assign', [provider, amount])
  }

  startThaw(provider: Address, amount: bigint): Promise<WriteResult> {
    return this.#send('startThaw', [provider, amount])
  }

  cancelThaw(provider: Address): Promise<WriteResult> {
    return this.#send('cancelThaw', [provider])
  }

  withdraw(provider: Address): Promise<WriteResult> {
    return this.#send('withdraw', [provider])
  }

  authorizeSigner(signer: Address): Promise<WriteResult> {
    return this.#send('authorizeSigner', [signer])
  }

  revokeSigner(signer: Address): Promise<WriteResult> {
    return this.#send('revokeSigner', [signer])
  }

  // ---- provider ----

  /** Redeems vouchers addressed to this signer in one transaction; `paid` is the total received. */
  async redeem(
    batch: readonly { voucher: VoucherTerms; signature: Hex }[],
  ): Promise<WriteResult & { paid: bigint; perRequester: Map<string, bigint> }> {
    const result = await this.#send('redeem', [batch.map((b) => b.voucher), batch.map((b) => b.signature)])
    const perRequester = new Map<string, bigint>()
    let paid = 0n
    for (const e of this.#events(result, 'VoucherRedeemed')) {
      const key = (e.requester as Address).toLowerCase()
      perRequester.set(key, (perRequester.get(key) ?? 0n) + (e.paid as bigint))
      paid += e.paid as bigint
    }
    return { ...result, paid, perRequester }
  }

  /** Claims one job of a silent requester with its signed award and the result hash. */
  async claim(args: {
    award: VoucherAward
    signature: Hex
    fuelUsed: bigint
    resultHash: Hex
  }): Promise<WriteResult & { claimId: Hex; amount: bigint; challengeEnds: bigint }> {
    const result = await this.#send('claim', [args.award, args.signature, args.fuelUsed, args.resultHash])
    const filed = this.#events(result, 'ClaimFiled')[0]
    if (!filed) throw new ChainError('VoucherVault.claim: no ClaimFiled event in the receipt')
    return {
      ...result,
      claimId: filed.claimId as Hex,
      amount: filed.amount as bigint,
      challengeEnds: filed.challengeEnds as bigint,
    }
  }

  /** Pays an undisputed claim after its window; `paid` false when a voucher covered it meanwhile. */
  async finalizeClaim(claimId: Hex): Promise<WriteResult & { paid: boolean; amount: bigint }> {
    const result = await this.#send('finalizeClaim', [claimId])
    const settled = this.#events(result, 'ClaimSettled')[0]
    return { ...result, paid: (settled?.paid as boolean) ?? false, amount: (settled?.amount as bigint) ?? 0n }
  }

  /**
   * A verifier (VERIFIER_ROLE: the VerificationCourt in a deployment) freezes a pending claim for
   * its requester. Requesters dispute through the court (`VerificationCourt.disputeVoucherClaim`),
   * which posts their bond; there is no direct requester dispute.
   */
  holdClaim(claimId: Hex, requester: Address): Promise<WriteResult> {
    return this.#send('holdClaim', [claimId, requester])
  }

  /** A verifier's verdict on a disputed claim; `settled` false when it had already expired. */
  async settleClaim(claimId: Hex, pay: boolean): Promise<WriteResult & { paid: boolean }> {
    const result = await this.#send('settleClaim', [claimId, pay])
    const settled = this.#events(result, 'ClaimSettled')[0]
    return { ...result, paid: (settled?.paid as boolean) ?? false }
  }

  /** Returns a dispute no verifier settled within `disputeTimeout` to escrow (anyone may call). */
  expireDispute(claimId: Hex): Promise<WriteResult> {
    return this.#send('expireDispute', [claimId])
  }

  // ---- views ----

  async channelOf(requester: Address, provider: Address): Promise<VaultChannel> {
    const c = await this.#read<{
      balance: bigint
      collected: bigint
      paidThrough: bigint
      thawReadyAt: bigint
      thawAmount: bigint
    }>('channelOf', [requester, provider])
    return {
      balance: c.balance,
      collected: c.collected,
      paidThrough: BigInt(c.paidThrough),
      thawReadyAt: BigInt(c.thawReadyAt),
      thawAmount: c.thawAmount,
    }
  }

  async thawOf(requester: Address, provider: Address): Promise<{ amount: bigint; readyAt: bigint }> {
    const [amount, readyAt] = await this.#read<readonly [bigint, bigint]>('thawOf', [requester, provider])
    return { amount, readyAt: BigInt(readyAt) }
  }

  isSigner(requester: Address, signer: Address): Promise<boolean> {
    return this.#read<boolean>('isSigner', [requester, signer])
  }

  async claimOf(claimId: Hex): Promise<VaultClaim> {
    const c = await this.#read<{
      requester: Address
      deadline: bigint
      status: number
      provider: Address
      sequence: bigint
      amount: bigint
      fuelUsed: bigint
      maxFuel: bigint
      jobId: bigint
      specHash: Hex
      resultHash: Hex
    }>('claimOf', [claimId])
    return {
      claimId,
      requester: c.requester,
      provider: c.provider,
      sequence: BigInt(c.sequence),
      amount: c.amount,
      status: VAULT_CLAIM_STATUSES[c.status] ?? 'None',
      deadline: BigInt(c.deadline),
      jobId: c.jobId,
      specHash: c.specHash,
      resultHash: c.resultHash,
      fuelUsed: BigInt(c.fuelUsed),
      maxFuel: BigInt(c.maxFuel),
    }
  }

  async delays(): Promise<VaultDelays> {
    const [thawDelay, signerRevokeDelay, claimWindow, disputeTimeout] = await Promise.all(
      (['thawDelay', 'signerRevokeDelay', 'claimWindow', 'disputeTimeout'] as const).map((name) =>
        this.#read<bigint>(name, []).then(BigInt),
      ),
    )
    return {
      thawDelay: thawDelay!,
      signerRevokeDelay: signerRevokeDelay!,
      claimWindow: claimWindow!,
      disputeTimeout: disputeTimeout!,
    }
  }

  /** Block time of the latest block, unix seconds. */
  async nowSeconds(): Promise<bigint> {
    try {
      return (await this.#contracts.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp
    } catch (err) {
      throw ChainError.from(err, 'eth_getBlockByNumber')
    }
  }

  async blockNumber(): Promise<bigint> {
    try {
      return await this.#contracts.clients.publicClient.getBlockNumber({ cacheTime: 0 })
    } catch (err) {
      throw ChainError.from(err, 'eth_blockNumber')
    }
  }

  /** Thaws announced from `fromBlock` to `toBlock`, optionally only those for `provider`. */
  async thawsSince(fromBlock: bigint, toBlock: bigint, provider?: Address): Promise<ThawStartedEvent[]> {
    const logs = await this.#logs('ThawStarted', fromBlock, toBlock, provider ? { provider } : undefined)
    return logs.map((log) => ({
      requester: log.args.requester as Address,
      provider: log.args.provider as Address,
      amount: log.args.amount as bigint,
      readyAt: BigInt(log.args.readyAt as bigint),
      blockNumber: log.blockNumber,
    }))
  }

  /** Claims filed from `fromBlock` to `toBlock`, optionally only those against `requester`. */
  async claimsFiledSince(
    fromBlock: bigint,
    toBlock: bigint,
    requester?: Address,
  ): Promise<ClaimFiledEvent[]> {
    const logs = await this.#logs('ClaimFiled', fromBlock, toBlock, requester ? { requester } : undefined)
    return logs.map((log) => ({
      claimId: log.args.claimId as Hex,
      requester: log.args.requester as Address,
      provider: log.args.provider as Address,
      sequence: BigInt(log.args.sequence as bigint),
      jobId: log.args.jobId as bigint,
      amount: log.args.amount as bigint,
      specHash: log.args.specHash as Hex,
      resultHash: log.args.resultHash as Hex,
      challengeEnds: BigInt(log.args.challengeEnds as bigint),
      blockNumber: log.blockNumber,
    }))
  }

  /**
   * The providers `requester` funded (Deposited to them, or Assigned from its unassigned balance)
   * from `fromBlock` to `toBlock`: the channels worth reading with {@link channelOf}, in the
   * order first funded. The vault's mappings cannot be enumerated; its events can.
   */
  async providersFundedBy(requester: Address, fromBlock: bigint, toBlock: bigint): Promise<Address[]> {
    const logs = await Promise.all(
      (['Deposited', 'Assigned'] as const).map((name) => this.#logs(name, fromBlock, toBlock, { requester })),
    )
    const ordered = logs
      .flat()
      .sort((a, b) => (a.blockNumber < b.blockNumber ? -1 : a.blockNumber > b.blockNumber ? 1 : 0))
    const providers = ordered.map((log) => log.args.provider as Address).filter((p) => p !== zeroAddress)
    return [...new Map(providers.map((p) => [p.toLowerCase(), p])).values()]
  }

  /** Keys `requester` authorized from `fromBlock` to `toBlock` (each once; see {@link isSigner}). */
  async signersAuthorizedBy(requester: Address, fromBlock: bigint, toBlock: bigint): Promise<Address[]> {
    const logs = await this.#logs('SignerAuthorized', fromBlock, toBlock, { requester })
    const signers = logs.map((log) => log.args.signer as Address)
    return [...new Map(signers.map((k) => [k.toLowerCase(), k])).values()]
  }

  /** Signing keys revoked from `fromBlock` to `toBlock`. */
  async signerRevocationsSince(fromBlock: bigint, toBlock: bigint): Promise<SignerRevokedEvent[]> {
    const logs = await this.#logs('SignerRevoked', fromBlock, toBlock)
    return logs.map((log) => ({
      requester: log.args.requester as Address,
      signer: log.args.signer as Address,
      effectiveAt: BigInt(log.args.effectiveAt as bigint),
      blockNumber: log.blockNumber,
    }))
  }

  // ---- signing ----

  /** Signs an Award with this signer's key, or with `signer` (a delegated key). */
  signAward(award: VoucherAward, signer?: LocalAccount): Promise<Hex> {
    const account = signer ?? this.#contracts.clients.account
    return account.signTypedData({
      domain: this.domain,
      types: voucherAwardTypes,
      primaryType: 'Award',
      message: award,
    })
  }

  /** Signs a Voucher with this signer's key, or with `signer` (a delegated key). */
  signVoucher(voucher: VoucherTerms, signer?: LocalAccount): Promise<Hex> {
    const account = signer ?? this.#contracts.clients.account
    return account.signTypedData({
      domain: this.domain,
      types: voucherTypes,
      primaryType: 'Voucher',
      message: voucher,
    })
  }

  /** The key that signed `award` (throws ChainError on a malformed signature). */
  recoverAwardSigner(award: VoucherAward, signature: Hex): Promise<Address> {
    return recoverAwardSigner(this.domain, award, signature)
  }

  recoverVoucherSigner(voucher: VoucherTerms, signature: Hex): Promise<Address> {
    return recoverVoucherSigner(this.domain, voucher, signature)
  }

  /** The claim id the vault gives job `sequence` of (requester, provider). */
  static claimIdOf(requester: Address, provider: Address, sequence: bigint): Hex {
    return keccak256(
      encodeAbiParameters(
        [{ type: 'address' }, { type: 'address' }, { type: 'uint64' }],
        [requester, provider, sequence],
      ),
    )
  }

  // ---- plumbing ----

  #send(functionName: string, args: readonly unknown[]): Promise<WriteResult> {
    return this.#contracts.queueWrite(`VoucherVault.${functionName}`, {
      address: this.address,
      abi: voucherVaultAbi,
      functionName,
      args,
    })
  }

  #read<T>(functionName: string, args: readonly unknown[]): Promise<T> {
    return this.#contracts.readOther(`VoucherVault.${functionName}`, {
      address: this.address,
      abi: voucherVaultAbi,
      functionName,
      args,
    })
  }

  async #logs(
    eventName: 'ThawStarted' | 'SignerRevoked' | 'ClaimFiled' | 'Deposited' | 'Assigned' | 'SignerAuthorized',
    fromBlock: bigint,
    toBlock: bigint,
    args?: Record<string, unknown>,
  ): Promise<{ args: Record<string, unknown>; blockNumber: bigint }[]> {
    if (toBlock < fromBlock) return []
    try {
      const logs = await this.#contracts.clients.publicClient.getContractEvents({
        address: this.address,
        abi: voucherVaultAbi,
        eventName,
        fromBlock,
        toBlock,
        ...(args ? { args } : {}),
        strict: true,
      } as never)
      return (logs as unknown as { args: Record<string, unknown>; blockNumber: bigint }[]).map((l) => ({
        args: l.args,
        blockNumber: l.blockNumber,
      }))
    } catch (err) {
      throw ChainError.from(err, `VoucherVault.${eventName} logs`)
    }
  }

  #events(result: WriteResult, eventName: string): Record<string, unknown>[] {
    return parseEventLogs({ abi: voucherVaultAbi, logs: result.receipt.logs })
      .filter((e) => e.eventName === eventName && e.address.toLowerCase() === this.address.toLowerCase())
      .map((e) => e.args as Record<string, unknown>)
  }
}

export function recoverAwardSigner(
  domain: TypedDataDomain,
  award: VoucherAward,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({
    domain,
    types: voucherAwardTypes,
    primaryType: 'Award',
    message: award,
    signature,
  }).catch((err: unknown) => {
    throw new ChainError('malformed award signature', { cause: err })
  })
}

export function recoverVoucherSigner(
  domain: TypedDataDomain,
  voucher: VoucherTerms,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({
    domain,
    types: voucherTypes,
    primaryType: 'Voucher',
    message: voucher,
    signature,
  }).catch((err: unknown) => {
    throw new ChainError('malformed voucher signature', { cause: err })
  })
}

/** The vault client for `contracts`' signer. */
export function createVoucherVault(contracts: BazaarContracts, address: Address): VoucherVault {
  return new VoucherVault(contracts, address)
}
