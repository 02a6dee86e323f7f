export interface InstrumentCache<V> {
  get(key: string): V | undefined
  set(key: string, value: V): void
  has(key: string): boolean
  delete(key: string): boolean
  clear(): void
  readonly size: number
}

/**
 * A small LRU for instrumented modules, keyed by the caller (e.g. module CID plus memory
 * cap). The executor stores compiled `WebAssembly.Module`s in it; plain bytes work too.
 */
export function createInstrumentCache<V = Uint8Array>(
  options: { maxEntries?: number } = {},
): InstrumentCache<V> {
  const maxEntries = options.maxEntries ?? 32
  const entries = new Map<string, V>()
  return {
    get(key) {
      const value = entries.get(key)
      if (value !== undefined) {
        entries.delete(key)
        entries.set(key, value)
      }
      return value
    },
    set(key, value) {
      entries.delete(key)
      entries.set(key, value)
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
    },
    has: (key) => entries.has(key),
    delete: (key) => entries.delete(key),
    clear: () => entries.clear(),
    get size() {
      return entries.size
    },
  }
}
