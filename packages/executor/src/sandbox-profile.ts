/**
 * What a module sees in the sandbox (sandbox-worker.ts implements it). Part of the
 * protocol: every provider must give the same view, or results differ.
 *
 * - argv = [ARGV0, ...args]; environment = exactly `env` (the worker's own process.env is
 *   empty too).
 * - /input: a fresh temporary directory holding copies of the input files; read-only
 *   (write rights are stripped on open, creating / renaming / deleting returns EROFS).
 *   Paths cannot escape it (node:wasi returns ENOTCAPABLE for `..` or absolute paths).
 *   Listing it returns the input names in byte order, inode numbers are 0, timestamps are
 *   VIRTUAL_EPOCH, so nothing about the host file system leaks into results.
 * - stdin is empty; stdout is captured up to `outputBytes` (more is OutputTooLarge);
 *   stderr keeps its first STDERR_KEEP_BYTES bytes.
 * - Clocks are virtual: realtime = VIRTUAL_EPOCH + t, monotonic / CPU time = t, where
 *   t (ns) = fuel used so far + the number of clock reads so far (1 fuel = 1 virtual ns;
 *   strictly increasing, identical on every machine).
 * - random_get is a deterministic stream: SHA-256(RANDOM_DOMAIN || seed || u64be(i)) for
 *   i = 0, 1, 2... concatenated, consumed in call order.
 * - poll_oneoff (sleeping / waiting) returns ENOTSUP; proc_raise returns ENOSYS.
 */

export const ARGV0 = 'main.wasm'
/** 2024-01-01T00:00:00Z in ns: what the virtual realtime clock starts from. */
export const VIRTUAL_EPOCH_NS = 1_704_067_200_000_000_000n
export const STDERR_KEEP_BYTES = 4096
export const RANDOM_DOMAIN = 'bazaar-random-v1'
