/** Math.min/Math.max do not take bigint. */
export function minBig(a: bigint, b: bigint): bigint {
  if (b < a) return b
  return a
}

export function maxBig(a: bigint, b: bigint): bigint {
  if (b > a) return b
  return a
}

export function cmpBig(a: bigint, b: bigint): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}
