import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'

/** The account cannot pay: no native currency for gas, or fewer tokens than the action needs. */
export class InsufficientFundsError extends BaseError {
  override name = 'InsufficientFundsError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.ChainError, message, options)
  }
}

/** The market's rules refuse the action at this moment (e.g. withdraw before the unbonding delay). */
export class NotNowError extends BaseError {
  override name = 'NotNowError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.ChainError, message, options)
  }
}
