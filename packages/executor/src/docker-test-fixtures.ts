import { readFileSync } from 'node:fs'
import { pack } from 'tar-stream'

/**
 * Test helpers for code that needs a real Docker daemon (the executor's own test, the
 * node's container job end-to-end test): an image built without a registry, from a static
 * busybox, and the reason to skip when that is not possible. Not used by library code.
 */

export const BUSYBOX = '/bin/busybox'

/**
 * Why container tests cannot run here (a string starting with "SKIPPED:"), or undefined
 * when a daemon answers `ping` and a static busybox exists to build the test image from.
 */
export async function dockerUnavailable(ping: () => Promise<boolean>): Promise<string | undefined> {
  if (!(await ping())) {
    return 'SKIPPED: no Docker daemon answers on /var/run/docker.sock (.ci/run starts one: apt-get install docker.io, dockerd --bridge=none --iptables=false)'
  }
  let elf: Buffer
  try {
    elf = readFileSync(BUSYBOX)
  } catch {
    return `SKIPPED: ${BUSYBOX} is missing (apt-get install busybox-static)`
  }
  if (!isStaticElf(elf)) return `SKIPPED: ${BUSYBOX} is dynamically linked (install busybox-static)`
  return undefined
}

/** An ELF64 without a PT_INTERP program header needs no loader or libraries. */
export function isStaticElf(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false
  const phoff = Number(elf.readBigUInt64LE(0x20))
  const phentsize = elf.readUInt16LE(0x36)
  const phnum = elf.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false
  }
  return true
}

/** A root file system with only a static busybox (and /bin/sh), as a tarball for `docker import`. */
export async function busyboxRootfs(): Promise<Uint8Array> {
  const tar = pack()
  const chunks: Buffer[] = []
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
  const done = new Promise<void>((resolve) => tar.on('end', () => resolve()))
  tar.entry({ name: 'bin', type: 'directory', mode: 0o755, mtime: new Date(0) })
  tar.entry({ name: 'bin/busybox', mode: 0o755, mtime: new Date(0) }, readFileSync(BUSYBOX))
  tar.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime: new Date(0) })
  tar.finalize()
  await done
  return new Uint8Array(Buffer.concat(chunks))
}
