export { ApiError } from './api-error.ts'
export {
  BazaarClient,
  type BazaarClientInit,
  createBazaarClient,
  type ExplanationView,
  type JobEventView,
  type JobView,
  type NodeInfo,
  type OfferView,
  type PriceStatsView,
  type ProviderView,
  type ReasonView,
  type VoucherJobInfo,
  type VoucherSettlement,
} from './bazaar-client.ts'
export { type MapJobsOptions, type MapJobsProgress, type MapJobsResult, mapJobs } from './map-jobs.ts'
export { uploadSpecFile } from './spec-files.ts'
