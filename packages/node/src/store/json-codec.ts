/**
 * JSON for stored records that hold bigints: a bigint is written as `{"$bigint":"<decimal>"}`
 * and read back exactly, so token amounts never pass through a float.
 */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v))
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v)
      const tagged = (v as { $bigint?: unknown }).$bigint
      if (keys.length === 1 && typeof tagged === 'string' && /^-?\d+$/.test(tagged)) return BigInt(tagged)
    }
    return v
  }) as T
}
