import { BaseError, ErrorCode } from '@bazaar/protocol'

/** A selection policy, pricing or index setting is out of range: a caller's configuration bug. */
export class MarketConfigError extends BaseError {
  override name = 'MarketConfigError' as const
  constructor(field: string, problem: string) {
    super(ErrorCode.Internal, `market configuration: ${field} ${problem}`, {
      hint: 'fix the market setting named; see docs/market.md for the valid ranges',
      details: { field },
    })
  }
}
