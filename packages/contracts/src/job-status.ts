/**
 * The JobMarket state machine, mirroring `JobMarket.Status` in JobMarket.sol (same order).
 * None -> Open -> Awarded -> Committed -> Revealed -> Finalized, plus Cancelled and Expired.
 */
export const JOB_STATUSES = [
  'None',
  'Open',
  'Awarded',
  'Committed',
  'Revealed',
  'Finalized',
  'Cancelled',
  'Expired',
] as const

export type JobStatus = (typeof JOB_STATUSES)[number]

/** The status name for the on-chain enum value. */
export function jobStatusName(value: number): JobStatus {
  const name = JOB_STATUSES[value]
  if (name === undefined) throw new RangeError(`unknown JobMarket status ${value}`)
  return name
}
