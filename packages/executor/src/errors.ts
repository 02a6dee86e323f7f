import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'

/**
 * Why a job did not produce a result. Every class has a literal `name` (callers test
 * `err.name`) and a stable `code` from `@bazaar/protocol`. Amounts of fuel are bigints on
 * the instance and decimal strings in `details` (so `toJSON()` stays JSON-safe).
 *
 * `fuelUsed` is set when it is deterministic (the same on every honest machine) and can be
 * billed: out of fuel (= the limit), traps, memory limit, output too large. It is absent
 * for timeouts and aborts, which depend on the machine.
 */

export class InvalidModuleError extends BaseError {
  override name = 'InvalidModuleError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.InvalidModule, message, {
      hint:
        'build a WASI preview1 command module (exports _start and memory, imports only from ' +
        'wasi_snapshot_preview1) without threads, relaxed SIMD, GC or exception handling',
      ...options,
    })
  }
}

/** The job itself is malformed (limits, input names, env): the caller's mistake, found before running. */
export class InvalidJobError extends BaseError {
  override name = 'InvalidJobError' as const
  readonly problems: string[]
  constructor(problems: string[], options: BaseErrorOptions = {}) {
    super(ErrorCode.InvalidSpec, `invalid job: ${problems.join('; ')}`, {
      hint: 'fix the job fields listed; the job spec validator (parseJobSpec) catches most of these earlier',
      ...options,
      details: { problems, ...options.details },
    })
    this.problems = problems
  }
}

export class OutOfFuelError extends BaseError {
  override name = 'OutOfFuelError' as const
  /** The whole limit: a job that runs out of fuel has used all of it. */
  readonly fuelUsed: bigint
  constructor(fuelLimit: bigint, options: BaseErrorOptions = {}) {
    super(ErrorCode.OutOfFuel, `the job ran out of fuel (limit ${fuelLimit})`, {
      hint: 'raise limits.fuel in the job spec, or give the job less work (e.g. smaller tiles)',
      ...options,
      details: { fuelUsed: fuelLimit.toString(), fuelLimit: fuelLimit.toString(), ...options.details },
    })
    this.fuelUsed = fuelLimit
  }
}

export class MemoryLimitError extends BaseError {
  override name = 'MemoryLimitError' as const
  readonly fuelUsed: bigint | undefined
  constructor(
    message: string,
    memoryMb: number,
    fuelUsed: bigint | undefined = undefined,
    options: BaseErrorOptions = {},
  ) {
    super(ErrorCode.MemoryLimit, message, {
      hint: 'raise resources.memoryMb in the job spec (at most 4096), or make the program use less memory',
      ...options,
      details: {
        memoryMb,
        ...(fuelUsed === undefined ? {} : { fuelUsed: fuelUsed.toString() }),
        ...options.details,
      },
    })
    this.fuelUsed = fuelUsed
  }
}

export class TimeoutError extends BaseError {
  override name = 'TimeoutError' as const
  constructor(timeoutMs: number, phase: 'prepare' | 'run', options: BaseErrorOptions = {}) {
    super(
      ErrorCode.Timeout,
      phase === 'run'
        ? `the job ran longer than its ${timeoutMs} ms wall-clock limit`
        : `preparing the module took longer than ${timeoutMs} ms`,
      {
        hint:
          phase === 'run'
            ? 'raise limits.timeoutMs, or lower limits.fuel so the job stops by fuel (billable) before the clock'
            : 'the module is too large or too complex to instrument; make it smaller',
        ...options,
        details: { timeoutMs, phase, ...options.details },
      },
    )
  }
}

export class OutputTooLargeError extends BaseError {
  override name = 'OutputTooLargeError' as const
  readonly fuelUsed: bigint | undefined
  constructor(outputBytes: number, fuelUsed: bigint | undefined = undefined, options: BaseErrorOptions = {}) {
    super(ErrorCode.OutputTooLarge, `the job wrote more than ${outputBytes} bytes to stdout`, {
      hint: 'raise limits.outputBytes (at most 64 MiB), or split the work into smaller jobs',
      ...options,
      details: {
        outputBytes,
        ...(fuelUsed === undefined ? {} : { fuelUsed: fuelUsed.toString() }),
        ...options.details,
      },
    })
    this.fuelUsed = fuelUsed
  }
}

export class TrapError extends BaseError {
  override name = 'TrapError' as const
  readonly fuelUsed: bigint | undefined
  constructor(trap: string, fuelUsed: bigint | undefined = undefined, options: BaseErrorOptions = {}) {
    super(ErrorCode.Trap, `the module trapped: ${trap}`, {
      hint: 'a bug in the program (or its input); run it locally, stderr often says more',
      ...options,
      details: {
        trap,
        ...(fuelUsed === undefined ? {} : { fuelUsed: fuelUsed.toString() }),
        ...options.details,
      },
    })
    this.fuelUsed = fuelUsed
  }
}

export class AbortedError extends BaseError {
  override name = 'AbortedError' as const
  constructor(message = 'the job was aborted', options: BaseErrorOptions = {}) {
    super(ErrorCode.Aborted, message, options)
  }
}

/** The sandbox itself failed (worker crashed, bug in the host code): not the job's fault. */
export class SandboxError extends BaseError {
  override name = 'SandboxError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.Internal, message, {
      hint: 'a fault in the executor, not in the job; retry, and report it if it repeats',
      ...options,
    })
  }
}
