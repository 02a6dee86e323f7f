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
  type JobRequirements,
  type ProviderCapacity,
  type ProviderPricing,
  type Reservations,
} from './bid-strategy.ts'
