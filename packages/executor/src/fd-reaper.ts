import { closeSync, readdirSync, readlinkSync } from 'node:fs'

/**
 * Closes this process's descriptors open on `dir` or anything under it. node:wasi never
 * closes the host descriptors behind its table (the preopen, files the module opened); a
 * worker that finishes a job closes them itself, but one terminated mid-job (timeout,
 * abort) cannot, and descriptors are process-wide. Call only once the worker is gone, so
 * nothing else can be using or closing them. Linux (/proc); elsewhere it does nothing.
 * Returns how many it closed.
 */
export function closeDescriptorsUnder(dir: string): number {
  let entries: string[]
  try {
    entries = readdirSync('/proc/self/fd')
  } catch {
    return 0
  }
  let closed = 0
  for (const entry of entries) {
    const fd = Number(entry)
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${entry}`)
    } catch {
      continue // closed meanwhile, or the directory fd of readdir itself
    }
    // A removed directory reads back as "<path> (deleted)".
    if (target === dir || target.startsWith(`${dir}/`) || target.startsWith(`${dir} (deleted)`)) {
      try {
        closeSync(fd)
        closed++
      } catch {}
    }
  }
  return closed
}
