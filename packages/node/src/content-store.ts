import { assertCid, cidOf } from '@bazaar/protocol'

/**
 * Content-addressed blobs a node serves to its peers: a requester's module and inputs,
 * a provider's outputs and receipts. Keys are CIDs, so a stored blob is verified once
 * on the way in and can be served to anyone who names it.
 */
export interface ContentStore {
  put(bytes: Uint8Array): Promise<string>
  /** Stores bytes under a CID the caller already knows; throws CidMismatchError if wrong. */
  putVerified(cid: string, bytes: Uint8Array): Promise<void>
  get(cid: string): Promise<Uint8Array | undefined>
  has(cid: string): boolean
  delete(cid: string): void
  readonly size: number
}

export function createMemoryContentStore(): ContentStore {
  const blobs = new Map<string, Uint8Array>()
  return {
    async put(bytes) {
      const cid = await cidOf(bytes)
      blobs.set(cid, bytes)
      return cid
    },
    async putVerified(cid, bytes) {
      await assertCid(bytes, cid)
      blobs.set(cid, bytes)
    },
    async get(cid) {
      return blobs.get(cid)
    },
    has(cid) {
      return blobs.has(cid)
    },
    delete(cid) {
      blobs.delete(cid)
    },
    get size() {
      return blobs.size
    },
  }
}

/**
 * The same store over the node database's blob table (docs/reliability.md): outputs and
 * receipts a provider must keep serving, and a requester's inputs, survive a restart.
 */
export function createPersistentContentStore(blobs: {
  put(cid: string, bytes: Uint8Array): void
  get(cid: string): Uint8Array | undefined
  has(cid: string): boolean
  delete(cid: string): void
  readonly size: number
}): ContentStore {
  return {
    async put(bytes) {
      const cid = await cidOf(bytes)
      blobs.put(cid, bytes)
      return cid
    },
    async putVerified(cid, bytes) {
      await assertCid(bytes, cid)
      blobs.put(cid, bytes)
    },
    async get(cid) {
      return blobs.get(cid)
    },
    has(cid) {
      return blobs.has(cid)
    },
    delete(cid) {
      blobs.delete(cid)
    },
    get size() {
      return blobs.size
    },
  }
}
