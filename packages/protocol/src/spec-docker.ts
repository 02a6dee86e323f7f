import { z } from 'zod'
import {
  jobName,
  specDeadlines,
  specEnv,
  specInputs,
  specPrice,
  specVerification,
  specVersion,
  wrongRuntimeField,
} from './spec-fields.ts'

/**
 * The container runtime's job spec (`runtime: docker`). The image travels like an input:
 * a root file system tarball (what `docker export` writes and `docker import` reads) given
 * by path or CID; the provider imports it and runs `command` in it with no network, a
 * read-only root, /input read-only and /output writable. Containers are not metered:
 * one fuel unit is one core-millisecond of the container's wall-clock run time, so the
 * fuel limit (and the escrow, fuel limit x price) follows from the timeout and the cores.
 */

/** Processes and threads a container may have when the spec does not say. */
export const DOCKER_DEFAULT_PIDS = 64

/** The fuel limit of a container job: every requested core for the whole timeout, in core-milliseconds. */
export function dockerFuelLimit(timeoutMs: number, cores: number): bigint {
  return BigInt(timeoutMs) * BigInt(cores)
}

/** A relative path under /output, "/"-separated, no `.` or `..` segments. */
export const outputPath = z
  .string()
  .regex(
    /^[a-zA-Z0-9._-]+(\/[a-zA-Z0-9._-]+)*$/,
    'must be a relative path under /output, e.g. "result.json" or "out/data.bin"',
  )
  .refine(
    (path) => path.split('/').every((part) => part !== '.' && part !== '..'),
    'must not contain "." or ".." segments',
  )

export const dockerJobSpecSchema = z
  .object({
    version: specVersion,
    name: jobName,
    runtime: z.literal('docker'),
    image: z.union(
      [z.object({ path: z.string().min(1) }).strict(), z.object({ cid: z.string().min(1) }).strict()],
      {
        error:
          'give the image as { path: <root file system tarball> } or { cid: <CID of one> }; make one with `docker export $(docker create IMAGE) > rootfs.tar`',
      },
    ),
    command: z
      .array(
        z.string().refine((arg) => !arg.includes('\0'), 'must not contain a NUL character'),
        {
          error: 'give the program and its arguments as a list, e.g. [/bin/sh, -c, "wc -l < /input/data"]',
        },
      )
      .min(1, 'give at least the program to run, e.g. [/bin/sh, -c, "wc -l < /input/data"]')
      .max(256),
    env: specEnv,
    inputs: specInputs,
    output: z
      .union([z.literal('stdout'), z.object({ file: outputPath }).strict()], {
        error: 'must be "stdout" (the default) or { file: <path under /output> }',
      })
      .default('stdout'),
    resources: z
      .object({
        cores: z.int().min(1).max(256).default(1),
        memoryMb: z.int().min(6, 'must be at least 6 (the least Docker accepts)').max(65_536).default(64),
      })
      .strict()
      .default({ cores: 1, memoryMb: 64 }),
    limits: z
      .object(
        {
          fuel: wrongRuntimeField(
            'docker jobs are billed by time: remove limits.fuel; the fuel limit is limits.timeoutMs x resources.cores (core-milliseconds)',
          ),
          timeoutMs: z
            .int({
              error:
                'required for docker jobs: the wall-clock limit in milliseconds (100-3600000); it also sets the most you can be billed',
            })
            .min(100)
            .max(3_600_000),
          outputBytes: z
            .int()
            .min(1)
            .max(64 * 1024 * 1024)
            .default(16 * 1024 * 1024),
          pids: z.int().min(1).max(4096).default(DOCKER_DEFAULT_PIDS),
        },
        { error: 'required for docker jobs: give at least limits: { timeoutMs: <milliseconds> }' },
      )
      .strict(),
    price: specPrice,
    // A container is billed by wall time, which differs between honest machines: replicas
    // could never agree on fuel, so replication is for wasm jobs only.
    verification: specVerification.refine((v) => v.mode !== 'replicated', {
      error:
        'replicated verification needs deterministic fuel: use it with runtime: wasm, or choose audit or optimistic',
    }),
    deadlines: specDeadlines,
    module: wrongRuntimeField(
      'docker jobs run an image, not a module: use image: { path | cid } and command: [program, args...]',
    ),
    args: wrongRuntimeField('docker jobs take their arguments in command: [program, arg, ...]'),
  })
  .strict()
  .transform(({ module: _module, args: _args, limits: { fuel: _fuel, ...limits }, ...spec }) => ({
    ...spec,
    limits: { ...limits, fuel: dockerFuelLimit(limits.timeoutMs, spec.resources.cores) },
  }))

export type DockerJobSpec = z.output<typeof dockerJobSpecSchema>
