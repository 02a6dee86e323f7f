export {
  BazaarContracts,
  type BazaarContractsInit,
  type CreateJobParams,
  createBazaarContracts,
  type JobRecord,
  type PermitSignature,
  type RegistryParameters,
  type Reputation,
  type RevealParams,
  type StakeAccount,
  type WriteResult,
} from './bazaar-contracts.ts'
export { ChainError, type ChainErrorOptions } from './chain-error.ts'
export {
  broadcastThroughOutage,
  CHAIN_RETRY_PAUSES_MS,
  isChainUnreachable,
  type OutageOptions,
  throughOutage,
} from './chain-outage.ts'
export {
  type ChainClients,
  type ChainClientsInit,
  createChainClients,
  type Eip1193Provider,
} from './clients.ts'
export {
  type CourtConfig,
  DEFAULT_COLLATERAL_BPS,
  DEFAULT_JAIL_DURATION,
  DEFAULT_MAX_FAULTS,
  DEFAULT_REPUTATION_HALF_LIFE,
  DEFAULT_UNBONDING_DELAY,
  DEFAULT_VAULT_CONFIG,
  type Deployment,
  type DeployParams,
  defaultCourtConfig,
  deployBazaar,
  type VaultConfig,
} from './deploy.ts'
export { DeploymentFileError, loadDeployment, writeDeployment } from './deployment-file.ts'
export {
  type DevAccount,
  devAccounts,
  type EmbeddedChain,
  type EmbeddedChainInit,
  startEmbeddedChain,
} from './embedded-chain.ts'
export { type JsonRpcServer, type JsonRpcServerInit, serveJsonRpc } from './json-rpc-server.ts'
export { decryptKeystore, type EncryptKeystoreOptions, encryptKeystore, KeystoreError } from './keystore.ts'
export { type ResultCommitmentInput, resultCommitment } from './result-commitment.ts'
export { type BidSigner, signBid } from './sign-bid.ts'
export {
  CASE_KINDS,
  CASE_STATUSES,
  type CaseKind,
  type CaseStatus,
  type CourtCase,
  type CourtDispute,
  type CourtMember,
  createVerificationCourt,
  VerificationCourt,
} from './verification-court.ts'
export {
  type ClaimFiledEvent,
  createVoucherVault,
  recoverAwardSigner,
  recoverVoucherSigner,
  type SignerRevokedEvent,
  type ThawStartedEvent,
  VAULT_CLAIM_STATUSES,
  type VaultChannel,
  type VaultClaim,
  type VaultClaimStatus,
  type VaultDelays,
  VoucherVault,
} from './voucher-vault.ts'
