/** Documented exit codes of the `bazaar` command (see docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  /** A job failed, was refunded or could not be verified. */
  JobNotCompleted: 1,
  /** Bad usage or invalid input (spec, flags). */
  Usage: 2,
  /** Infrastructure failure: chain, network, sandbox, node unreachable. */
  Internal: 3,
  /** The job or resource asked for does not exist. */
  NotFound: 4,
} as const
