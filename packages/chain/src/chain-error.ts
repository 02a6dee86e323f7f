import {
  computeTokenAbi,
  jobMarketAbi,
  providerRegistryAbi,
  verificationCourtAbi,
  voucherVaultAbi,
} from '@bazaar/contracts'
import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'
import {
  type Abi,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  BaseError as ViemBaseError,
} from 'viem'

/** Every custom error of the contracts, so a revert bubbling up from a callee still decodes. */
const allErrorsAbi: Abi = [
  ...computeTokenAbi,
  ...providerRegistryAbi,
  ...jobMarketAbi,
  ...verificationCourtAbi,
  ...voucherVaultAbi,
].filter((item) => item.type === 'error')

export interface ChainErrorOptions extends BaseErrorOptions {
  /** Decoded custom error name, e.g. `JobMarket__InvalidBidSignature`. */
  errorName?: string
  /** Decoded custom error arguments. */
  errorArgs?: readonly unknown[]
}

/**
 * A failed chain call or transaction. When the contract reverted with a custom error,
 * `errorName` names it (and the message contains it); branch on `errorName`, not on text.
 */
export class ChainError extends BaseError {
  override name = 'ChainError' as const
  readonly errorName: string | undefined
  readonly errorArgs: readonly unknown[]

  constructor(message: string, options: ChainErrorOptions = {}) {
    const { errorName, errorArgs = [], ...rest } = options
    super(ErrorCode.ChainError, message, {
      ...rest,
      details: {
        ...rest.details,
        ...(errorName === undefined ? {} : { errorName, errorArgs: errorArgs.map(formatArg) }),
      },
    })
    this.errorName = errorName
    this.errorArgs = errorArgs
  }

  /**
   * Wraps anything thrown by viem during `label` (e.g. "JobMarket.award") into a ChainError,
   * decoding the contract's custom error when there is one.
   */
  static from(err: unknown, label: string): ChainError {
    if (err instanceof ChainError) return err
    const reverted =
      err instanceof ViemBaseError
        ? (err.walk(
            (e) => e instanceof ContractFunctionRevertedError,
          ) as ContractFunctionRevertedError | null)
        : null
    if (reverted) {
      let errorName = reverted.data?.errorName
      let errorArgs: readonly unknown[] = reverted.data?.args ?? []
      if (errorName === undefined && reverted.raw !== undefined) {
        const decoded = tryDecode(reverted.raw)
        errorName = decoded?.errorName
        errorArgs = decoded?.args ?? []
      }
      if (errorName !== undefined) {
        const args = errorArgs.map(formatArg).join(', ')
        return new ChainError(`${label} reverted: ${errorName}(${args})`, {
          errorName,
          errorArgs,
          cause: err,
        })
      }
      return new ChainError(`${label} reverted: ${reverted.reason ?? reverted.shortMessage}`, { cause: err })
    }
    // Reverts outside a contract call (a deployment, a raw send) reach viem as an unknown RPC
    // error; the node's error underneath still carries the revert data.
    const decoded = revertDataIn(err)
    if (decoded) {
      const args = decoded.args.map(formatArg).join(', ')
      return new ChainError(`${label} reverted: ${decoded.errorName}(${args})`, {
        errorName: decoded.errorName,
        errorArgs: decoded.args,
        cause: err,
      })
    }
    const message =
      err instanceof ViemBaseError ? err.shortMessage : err instanceof Error ? err.message : String(err)
    // viem's short message for an RPC error is generic ("Missing or invalid parameters"); the
    // node's own words are in `details`.
    const details = err instanceof ViemBaseError && err.details && err.details !== message ? err.details : ''
    return new ChainError(`${label} failed: ${message}${details ? ` (${details})` : ''}`, { cause: err })
  }
}

function revertDataIn(err: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  for (let cause = err, depth = 0; cause !== undefined && cause !== null && depth < 10; depth++) {
    const data = (cause as { data?: unknown }).data
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(data)) {
      const decoded = tryDecode(data as Hex)
      if (decoded) return decoded
    }
    cause = (cause as { cause?: unknown }).cause
  }
  return undefined
}

function tryDecode(data: Hex): { errorName: string; args: readonly unknown[] } | undefined {
  try {
    const decoded = decodeErrorResult({ abi: allErrorsAbi, data })
    return { errorName: decoded.errorName, args: decoded.args ?? [] }
  } catch {
    return undefined
  }
}

function formatArg(value: unknown): string {
  return typeof value === 'bigint' ? value.toString() : String(value)
}
