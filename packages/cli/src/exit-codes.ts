/** Documented exit codes of the `bazaar` command (see docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  /** A job failed, was refunded or could not be verified. */
  JobNotCompleted: 1,
  /** Bad usage or invalid input: flags, config file, spec, deployment file (missing, malformed, other chain). */
  Usage: 2,
  /** Infrastructure failure: chain unreachable, network, sandbox, node unreachable. */
  Internal: 3,
  /** The job or resource asked for does not exist. */
  NotFound: 4,
  /** No usable key: keystore missing, wrong password, no password without a terminal. */
  Credentials: 5,
  /** Not enough funds: no native currency for gas, or too few tokens for a stake or escrow. */
  Funds: 6,
  /** Refused by the rules of the market right now: cancel after award, withdraw before the unbonding delay. */
  Conflict: 7,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** Errors, by `name`, whose exit code does not follow from their protocol code alone. */
const byName: Record<string, ExitCodeValue> = {
  KeystoreError: ExitCode.Credentials,
  CredentialsError: ExitCode.Credentials,
  InsufficientFundsError: ExitCode.Funds,
  DeploymentFileError: ExitCode.Usage,
  DeploymentMismatchError: ExitCode.Usage,
  NodeConfigError: ExitCode.Usage,
  ChainUnreachableError: ExitCode.Internal,
  NotNowError: ExitCode.Conflict,
}

/** The exit code for an error thrown by a command. */
export function exitCodeFor(err: { name?: string; code?: string; status?: number }): ExitCodeValue {
  const named = err.name ? byName[err.name] : undefined
  if (named !== undefined) return named
  // Errors the node's API answered (ApiError) carry its HTTP status.
  if (err.status === 409) return ExitCode.Conflict
  if (err.code === 'E_INVALID_SPEC' || err.code === 'E_INVALID_MESSAGE') return ExitCode.Usage
  if (err.code === 'E_NOT_FOUND') return ExitCode.NotFound
  return ExitCode.Internal
}
