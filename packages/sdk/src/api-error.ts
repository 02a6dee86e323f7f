import { BaseError, type ErrorCode } from '@bazaar/protocol'

/** An error answered by the node's API, with its HTTP status and the node's code and hint. */
export class ApiError extends BaseError {
  override name = 'ApiError' as const
  readonly status: number
  constructor(
    status: number,
    body: {
      code?: string
      message?: string
      hint?: string
      details?: Record<string, unknown>
      issues?: unknown
    },
  ) {
    super((body.code ?? 'E_INTERNAL') as ErrorCode, body.message ?? `HTTP ${status}`, {
      ...(body.hint ? { hint: body.hint } : {}),
      details: { ...(body.details ?? {}), ...(body.issues ? { issues: body.issues } : {}) },
    })
    this.status = status
  }
}
