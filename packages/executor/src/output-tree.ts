import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Reading what a container left in its output directory, from the host. The container may
 * have planted symlinks (to host paths, once read from outside) or special files: only
 * regular files are read, opened with O_NOFOLLOW, and directories are descended only when
 * they are real directories (lstat), so nothing outside the tree is ever read.
 */

/** Bytes of regular files under `dir` (best effort while a container is still writing). */
export function treeSize(dir: string): number {
  let total = 0
  const pending = [dir]
  while (pending.length > 0) {
    const current = pending.pop() as string
    let names: string[]
    try {
      names = readdirSync(current)
    } catch {
      continue
    }
    for (const name of names) {
      try {
        const stat = lstatSync(join(current, name))
        if (stat.isDirectory()) pending.push(join(current, name))
        else if (stat.isFile()) total += stat.size
      } catch {}
    }
  }
  return total
}

/**
 * The regular files under `dir` as `{ path, bytes }` sorted by path ("/"-separated,
 * relative), or undefined when together they hold more than `limit` bytes.
 */
export function readOutputTree(
  dir: string,
  limit: number,
): { path: string; bytes: Uint8Array }[] | undefined {
  const files: { path: string; bytes: Uint8Array }[] = []
  let total = 0
  const pending: [string, string][] = [[dir, '']]
  while (pending.length > 0) {
    const [current, prefix] = pending.pop() as [string, string]
    for (const name of readdirSync(current).sort()) {
      const full = join(current, name)
      const relative = prefix ? `${prefix}/${name}` : name
      const stat = lstatSync(full)
      if (stat.isDirectory()) {
        pending.push([full, relative])
        continue
      }
      if (!stat.isFile()) continue // symlinks, fifos, sockets, devices: not outputs
      const fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      try {
        const size = fstatSync(fd).size
        total += size
        if (total > limit) return undefined
        const bytes = new Uint8Array(size)
        let read = 0
        while (read < size) {
          const n = readSync(fd, bytes, read, size - read, read)
          if (n === 0) break
          read += n
        }
        files.push({ path: relative, bytes: bytes.subarray(0, read) })
      } finally {
        closeSync(fd)
      }
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
