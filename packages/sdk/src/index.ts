export { ApiError } from './api-error.ts'
export {
  BazaarClient,
  type BazaarClientInit,
  createBazaarClient,
  type JobEventView,
  type JobView,
  type NodeInfo,
} from './bazaar-client.ts'
export { uploadSpecFile } from './spec-files.ts'
