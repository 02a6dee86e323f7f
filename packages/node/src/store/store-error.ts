import { BaseError } from '@bazaar/protocol'

/** The node database cannot be opened or is from a newer version of the software. */
export class StoreError extends BaseError {
  override name = 'StoreError' as const
}
