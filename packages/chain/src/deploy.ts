import {
  computeTokenAbi,
  computeTokenBytecode,
  jobMarketAbi,
  jobMarketBytecode,
  providerRegistryAbi,
  providerRegistryBytecode,
  verificationCourtAbi,
  verificationCourtBytecode,
  voucherVaultAbi,
  voucherVaultBytecode,
} from '@bazaar/contracts'
import { type Address, getAddress, type Hash, keccak256, toHex, zeroAddress } from 'viem'
import { ChainError } from './chain-error.ts'
import type { ChainClients } from './clients.ts'

/** Where the Bazaar contracts live on one chain. Plain JSON (no bigint): the deployment file. */
export interface Deployment {
  chainId: number
  token: Address
  registry: Address
  market: Address
  /** The VerificationCourt (replication, audits, challenges); holds the market's VERIFIER_ROLE. */
  court: Address
  /** The VoucherVault (escrow per requester and provider, cumulative vouchers, claims). */
  vault: Address
  /** Block of the first deployment transaction: where event scans start. */
  deployedAtBlock: number
  /** The deploying account: admin of registry and market, and owner (faucet) of a deployed token. */
  deployer: Address
}

export interface DeployParams {
  /** Use this ERC-20 (with EIP-2612 permit) instead of deploying a ComputeToken. */
  token?: Address
  /** Active stake a provider needs to be eligible, in token base units. */
  minStake: bigint
  /** Least collateral locked from the awarded provider per job, in token base units. */
  minCollateral: bigint
  /**
   * Collateral in basis points of price x maxFuel, when above `minCollateral` (default 10 000:
   * one full payment, what the verification Monte Carlo needs to deter cheating under audits;
   * see docs/verification.md).
   */
  collateralBps?: number
  /** Seconds after a reveal during which only the requester may finalize. */
  challengeWindow: bigint | number
  /** Seconds between requesting an unbond and withdrawing it (default 7 days). */
  unbondingDelay?: number
  /** Faults that jail a provider; 0 never jails (default 3). */
  maxFaults?: number
  /** Seconds a jailed provider stays ineligible (default 1 day). */
  jailDuration?: number
  /** Half-life of reputation in seconds; 0 disables decay (default 30 days). */
  reputationHalfLife?: number
  /** Protocol fee in basis points of provider payments, at most 1000 (default 0). */
  feeBps?: number
  /** Fee recipient (default: the deployer when `feeBps` > 0, else none). */
  treasury?: Address
  /** Verification court rules (defaults: {@link defaultCourtConfig} of `minCollateral`). */
  court?: Partial<CourtConfig>
  /** Voucher vault delays (defaults: {@link DEFAULT_VAULT_CONFIG}). */
  vault?: Partial<VaultConfig>
}

/** The VoucherVault's delays in seconds (see VoucherVault.sol `Config`). */
export interface VaultConfig {
  /** Between announcing a withdrawal and making it: providers' time to redeem and claim. */
  thawDelay: number
  /** Between revoking a signing key and the revocation taking effect. */
  signerRevokeDelay: number
  /** A requester's time to dispute a single-job claim. */
  claimWindow: number
  /** A verifier's time to settle a disputed claim before it returns to escrow. */
  disputeTimeout: number
}

/**
 * Vault defaults: a day to thaw or revoke (a provider polling hourly has many chances to redeem),
 * an hour to dispute a claim, a week for a verifier to settle a dispute.
 */
export const DEFAULT_VAULT_CONFIG: VaultConfig = {
  thawDelay: 24 * 3600,
  signerRevokeDelay: 24 * 3600,
  claimWindow: 3600,
  disputeTimeout: 7 * 24 * 3600,
}

/** The VerificationCourt's rules (see VerificationCourt.sol `Config`). */
export interface CourtConfig {
  refereeBond: bigint
  challengeBond: bigint
  refereeFee: bigint
  auditFee: bigint
  referees: number
  commitWindow: number
  revealWindow: number
  auditDrawGrace: number
  penaltyBps: number
  challengerRewardBps: number
}

/**
 * Court defaults scaled to the market's least collateral: a referee or challenger risks as much
 * as a provider does on one job, and a referee's fee or an audit costs a tenth of that.
 */
export function defaultCourtConfig(minCollateral: bigint): CourtConfig {
  return {
    refereeBond: minCollateral,
    challengeBond: minCollateral,
    refereeFee: minCollateral / 10n,
    auditFee: minCollateral / 10n,
    referees: 3,
    commitWindow: 600,
    revealWindow: 300,
    auditDrawGrace: 300,
    penaltyBps: 5_000,
    challengerRewardBps: 5_000,
  }
}

export const DEFAULT_UNBONDING_DELAY = 7 * 24 * 3600
/** Collateral per award: one full payment (price x maxFuel); see docs/verification.md. */
export const DEFAULT_COLLATERAL_BPS = 10_000
export const DEFAULT_MAX_FAULTS = 3
export const DEFAULT_JAIL_DURATION = 24 * 3600
export const DEFAULT_REPUTATION_HALF_LIFE = 30 * 24 * 3600

const MARKET_ROLE = keccak256(toHex('MARKET_ROLE'))
const SLASHER_ROLE = keccak256(toHex('SLASHER_ROLE'))
const VERIFIER_ROLE = keccak256(toHex('VERIFIER_ROLE'))

/**
 * Deploys ProviderRegistry, JobMarket, VerificationCourt and VoucherVault (and a ComputeToken unless
 * `params.token` is given) from the clients' account, which becomes their admin (and the token
 * owner, i.e. the faucet), grants the market its registry roles (lock/release and slash) and the
 * court the market's VERIFIER_ROLE. The court also judges disputed voucher claims: it gets the
 * vault's VERIFIER_ROLE (freeze and settle a claim) and the registry's SLASHER_ROLE (a wrong claim
 * costs the provider's stake), and is pointed at the vault (`setVoucherVault`); see
 * docs/vouchers.md. A dispute the court leaves unsettled returns to escrow after `disputeTimeout`.
 */
export async function deployBazaar(clients: ChainClients, params: DeployParams): Promise<Deployment> {
  const { walletClient, publicClient, account } = clients
  const confirm = async (label: string, hash: Hash) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new ChainError(`${label} reverted`, { details: { hash } })
    return receipt
  }
  const deployed = async (label: string, hash: Hash) => {
    const receipt = await confirm(label, hash)
    if (!receipt.contractAddress) throw new ChainError(`${label}: no contract address in receipt`)
    return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber }
  }
  const feeBps = params.feeBps ?? 0
  const treasury = params.treasury ?? (feeBps > 0 ? account.address : zeroAddress)

  try {
    const token = params.token
      ? { address: getAddress(params.token), blockNumber: undefined }
      : await deployed(
          'deploy ComputeToken',
          await walletClient.deployContract({
            abi: computeTokenAbi,
            bytecode: computeTokenBytecode,
            args: [account.address],
          }),
        )
    const registry = await deployed(
      'deploy ProviderRegistry',
      await walletClient.deployContract({
        abi: providerRegistryAbi,
        bytecode: providerRegistryBytecode,
        args: [
          token.address,
          account.address,
          {
            minStake: params.minStake,
            unbondingDelay: params.unbondingDelay ?? DEFAULT_UNBONDING_DELAY,
            jailDuration: params.jailDuration ?? DEFAULT_JAIL_DURATION,
            reputationHalfLife: params.reputationHalfLife ?? DEFAULT_REPUTATION_HALF_LIFE,
            maxFaults: params.maxFaults ?? DEFAULT_MAX_FAULTS,
          },
        ],
      }),
    )
    const market = await deployed(
      'deploy JobMarket',
      await walletClient.deployContract({
        abi: jobMarketAbi,
        bytecode: jobMarketBytecode,
        args: [
          token.address,
          registry.address,
          account.address,
          {
            challengeWindow: Number(params.challengeWindow),
            treasury,
            feeBps,
            collateralBps: params.collateralBps ?? DEFAULT_COLLATERAL_BPS,
            minCollateral: params.minCollateral,
          },
        ],
      }),
    )
    for (const [label, role] of [
      ['MARKET_ROLE', MARKET_ROLE],
      ['SLASHER_ROLE', SLASHER_ROLE],
    ] as const) {
      await confirm(
        `ProviderRegistry.grantRole(${label})`,
        await walletClient.writeContract({
          address: registry.address,
          abi: providerRegistryAbi,
          functionName: 'grantRole',
          args: [role, market.address],
        }),
      )
    }
    const court = await deployed(
      'deploy VerificationCourt',
      await walletClient.deployContract({
        abi: verificationCourtAbi,
        bytecode: verificationCourtBytecode,
        args: [
          market.address,
          account.address,
          { ...defaultCourtConfig(params.minCollateral), ...params.court },
        ],
      }),
    )
    await confirm(
      'JobMarket.grantRole(VERIFIER_ROLE)',
      await walletClient.writeContract({
        address: market.address,
        abi: jobMarketAbi,
        functionName: 'grantRole',
        args: [VERIFIER_ROLE, court.address],
      }),
    )
    const vault = await deployed(
      'deploy VoucherVault',
      await walletClient.deployContract({
        abi: voucherVaultAbi,
        bytecode: voucherVaultBytecode,
        args: [
          token.address,
          account.address,
          (({ thawDelay, signerRevokeDelay, claimWindow, disputeTimeout }) => ({
            thawDelay: BigInt(thawDelay),
            signerRevokeDelay: BigInt(signerRevokeDelay),
            claimWindow: BigInt(claimWindow),
            disputeTimeout: BigInt(disputeTimeout),
          }))({ ...DEFAULT_VAULT_CONFIG, ...params.vault }),
        ],
      }),
    )
    await confirm(
      'VoucherVault.grantRole(VERIFIER_ROLE)',
      await walletClient.writeContract({
        address: vault.address,
        abi: voucherVaultAbi,
        functionName: 'grantRole',
        args: [VERIFIER_ROLE, court.address],
      }),
    )
    await confirm(
      'ProviderRegistry.grantRole(SLASHER_ROLE) to the court',
      await walletClient.writeContract({
        address: registry.address,
        abi: providerRegistryAbi,
        functionName: 'grantRole',
        args: [SLASHER_ROLE, court.address],
      }),
    )
    await confirm(
      'VerificationCourt.setVoucherVault',
      await walletClient.writeContract({
        address: court.address,
        abi: verificationCourtAbi,
        functionName: 'setVoucherVault',
        args: [vault.address],
      }),
    )
    return {
      chainId: clients.chainId,
      token: token.address,
      registry: registry.address,
      market: market.address,
      court: court.address,
      vault: vault.address,
      deployedAtBlock: Number(token.blockNumber ?? registry.blockNumber),
      deployer: account.address,
    }
  } catch (err) {
    throw ChainError.from(err, 'deployBazaar')
  }
}
