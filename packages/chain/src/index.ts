export {
  BazaarContracts,
  type BazaarContractsInit,
  type CreateJobParams,
  createBazaarContracts,
  type JobRecord,
  type RevealParams,
  type WriteResult,
} from './bazaar-contracts.ts'
export { ChainError, type ChainErrorOptions } from './chain-error.ts'
export {
  type ChainClients,
  type ChainClientsInit,
  createChainClients,
  type Eip1193Provider,
} from './clients.ts'
export { type Deployment, type DeployParams, deployBazaar } from './deploy.ts'
export {
  type DevAccount,
  devAccounts,
  type EmbeddedChain,
  type EmbeddedChainInit,
  startEmbeddedChain,
} from './embedded-chain.ts'
export { type JsonRpcServer, type JsonRpcServerInit, serveJsonRpc } from './json-rpc-server.ts'
export { type ResultCommitmentInput, resultCommitment } from './result-commitment.ts'
export { type BidSigner, signBid } from './sign-bid.ts'
