export {
  type AskPricing,
  askPrice,
  type SpotPricing,
  spotAnchor,
  validatePricing,
} from './ask-price.ts'
export { type BestBidsResult, type ExcludedBid, type RankedBid, selectBestBids } from './best-bids.ts'
export {
  type BidVerdict,
  type EvaluationContext,
  evaluateBid,
  type MarketBid,
  type OfferLike,
  type ProviderStanding,
} from './bid-evaluation.ts'
export {
  type BidEvaluation,
  type BidRejection,
  type CandidateBid,
  type SelectionContext,
  type SelectionResult,
  selectBids,
} from './bid-selection.ts'
export {
  type BidDecision,
  type DeclineReason,
  decideBid,
  type MarketSignal,
  type ProviderCapacity,
  type ProviderPricing,
  type Reservations,
  utilizationPpm,
} from './bid-strategy.ts'
export { type CapacityHold, CapacityLedger } from './capacity-ledger.ts'
export {
  type ExplainCandidate,
  type ExplainContext,
  type ExplainExclusion,
  type Explanation,
  explainJob,
  offerExclusions,
  type PriceRange,
} from './explain.ts'
export { MarketConfigError } from './market-config-error.ts'
export {
  type ClassDepth,
  type DepthOffer,
  type MarketDepth,
  marketDepth,
  type PriceQuantiles,
} from './market-depth.ts'
export { type OfferAddResult, OfferBook, type OfferBookInit, type OfferRejection } from './offer-book.ts'
export {
  type AwardRecord,
  computePriceStats,
  PriceIndex,
  type PriceIndexInit,
  type PriceIndexSnapshot,
  type PriceStats,
} from './price-index.ts'
export { describeQuote, type PriceQuote, quotePrice } from './price-quote.ts'
export { median, quantile } from './quantile.ts'
export { countReasons, type Exclusion, MarketReason } from './reasons.ts'
export { effectivePriceScaled, type ReputationRecord, reputationPpm } from './reputation.ts'
export {
  type Capability,
  checkCapability,
  type GpuRequirement,
  gpuMatches,
  type JobRequirements,
} from './requirements.ts'
export {
  offerResourceClasses,
  type ResourceClass,
  resourceClass,
  UNCLASSIFIED_PREFIX,
  unclassifiedResourceClass,
} from './resource-class.ts'
export {
  DEFAULT_SELECTION_POLICY,
  MAX_REPUTATION_WEIGHT_PPM,
  resolvePolicy,
  type SelectionPolicy,
} from './selection-policy.ts'
export {
  caughtWithin,
  cheaterExpectedProfit,
  detectionProbability,
  deterrentCollateral,
  honestMajority,
  honestProfit,
  type JobEconomics,
  type MarketAssumptions,
  type VerificationMode,
  verificationCostFactor,
} from './verification-economics.ts'
export {
  type SimulationInit,
  type SimulationResult,
  simulateVerification,
} from './verification-simulation.ts'
