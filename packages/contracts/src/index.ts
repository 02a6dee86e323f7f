export {
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
} from './generated/artifacts.ts'
export { JOB_STATUSES, type JobStatus, jobStatusName } from './job-status.ts'
