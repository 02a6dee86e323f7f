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

/** Where a content store keeps its bytes: a Map in memory, or the node database's blob table. */
export interface BlobTable {
  put(cid: string, bytes: Uint8Array): void
  get(cid: string): Uint8Array | undefined
  has(cid: string): boolean
  delete(cid: string): void
  readonly size: number
}

/** A store in memory: forgotten on exit (tests, and nodes without a data dir). */
export function createMemoryContentStore(): ContentStore {
  const map = new Map<string, Uint8Array>()
  return createPersistentContentStore({
    put: (cid, bytes) => void map.set(cid, bytes),
    get: (cid) => map.get(cid),
    has: (cid) => map.has(cid),
    delete: (cid) => void map.delete(cid),
    get size() {
      return map.size
    },
  })
}

/**
 * The store over a blob table, such as the node database's (docs/reliability.md): outputs and
 * receipts a provider must keep serving, and a requester's inputs, survive a restart.
 */
export function createPersistentContentStore(blobs: BlobTable): ContentStore {
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
