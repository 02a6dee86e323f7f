/**
 * Converts a value for JSON: bigint token amounts and fuel become decimal strings (never
 * numbers, which would round), byte arrays are left out (they have their own endpoints).
 */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return undefined
  if (Array.isArray(value)) return value.map(jsonSafe)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) {
      const converted = jsonSafe(v)
      if (converted !== undefined) out[key] = converted
    }
    return out
  }
  return value
}
