/** Nearest-rank quantile of an ascending bigint array (p in 0..100); undefined when empty. */
export function quantile(sorted: readonly bigint[], p: number): bigint | undefined {
  if (sorted.length === 0) return undefined
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

/** Median of an ascending bigint array: the middle value, or the mean of the two middle ones rounded down. */
export function median(sorted: readonly bigint[]): bigint | undefined {
  const n = sorted.length
  if (n === 0) return undefined
  const hi = sorted[n >> 1]!
  return n % 2 === 1 ? hi : (sorted[(n >> 1) - 1]! + hi) / 2n
}

export function sortBigints(values: Iterable<bigint>): bigint[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}
