/**
 * wordcount: counts words in text files.
 *
 * Usage:
 *   wordcount [NAME]
 *
 *   NAME  a file in the job's /input directory ("sample.txt" or "/input/sample.txt").
 *         Without NAME, every regular file directly under /input is read, in name order.
 *
 * Words are maximal runs of non-whitespace bytes (whitespace = ASCII space, \t, \n, \v,
 * \f, \r), lowercased in ASCII (A-Z only; other bytes kept as they are, decoded as UTF-8).
 *
 * Output on stdout, one line of JSON:
 *   {"words":N,"unique":M,"top":[["word",count],...]}
 * where top holds the 10 most frequent words (fewer if there are fewer), by count
 * descending, then by word ascending (UTF-16 code unit order, byte order for ASCII).
 * The output depends only on the input bytes.
 * A file that cannot be opened: a message on stderr and exit code 1.
 */

// The few WASI preview1 calls the shim does not wrap, declared directly.
@external('wasi_snapshot_preview1', 'fd_prestat_get')
declare function fd_prestat_get(fd: u32, buf: usize): u16
@external('wasi_snapshot_preview1', 'fd_prestat_dir_name')
declare function fd_prestat_dir_name(fd: u32, path: usize, pathLen: usize): u16
@external('wasi_snapshot_preview1', 'path_open')
declare function path_open(
  dirfd: u32,
  dirflags: u32,
  path: usize,
  pathLen: usize,
  oflags: u16,
  rightsBase: u64,
  rightsInheriting: u64,
  fdflags: u16,
  fd: usize,
): u16
@external('wasi_snapshot_preview1', 'fd_read')
declare function fd_read(fd: u32, iovs: usize, iovsLen: usize, nread: usize): u16
@external('wasi_snapshot_preview1', 'fd_readdir')
declare function fd_readdir(fd: u32, buf: usize, bufLen: usize, cookie: u64, bufUsed: usize): u16
@external('wasi_snapshot_preview1', 'fd_close')
declare function fd_close(fd: u32): u16

const RIGHT_FD_READ: u64 = 1 << 1
const RIGHT_FD_READDIR: u64 = 1 << 14
const OFLAG_DIRECTORY: u16 = 2
const FILETYPE_REGULAR: u8 = 4
const READ_CHUNK: i32 = 64 * 1024

const scratch = memory.data(16)

function fail(message: string): void {
  process.stderr.write('wordcount: ' + message + '\n')
  process.exit(1)
}

/** The file descriptor of the preopened directory named /input. */
function findInputDir(): u32 {
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, scratch) != 0) break
    const nameLen = load<u32>(scratch, 4)
    if (load<u8>(scratch) != 0 || nameLen > 256) continue
    const name = new Uint8Array(nameLen)
    if (fd_prestat_dir_name(fd, name.dataStart, nameLen) != 0) continue
    const text = String.UTF8.decodeUnsafe(name.dataStart, nameLen)
    if (text == '/input' || text == '/input/') return fd
  }
  fail('no /input directory was given to this program')
  return 0
}

function openAt(dirfd: u32, name: string, oflags: u16, rights: u64): i32 {
  const path = String.UTF8.encode(name)
  const err = path_open(dirfd, 0, changetype<usize>(path), path.byteLength, oflags, rights, 0, 0, scratch)
  if (err != 0) return -(<i32>err)
  return <i32>load<u32>(scratch)
}

/** Names of the regular files directly under the directory, sorted. */
function listFiles(dirfd: u32): string[] {
  const dir = openAt(dirfd, '.', OFLAG_DIRECTORY, RIGHT_FD_READDIR)
  if (dir < 0) fail('cannot list /input (WASI errno ' + (-dir).toString() + ')')
  const names = new Array<string>()
  let bufLen: i32 = 4096
  let buf = new Uint8Array(bufLen)
  let cookie: u64 = 0
  while (true) {
    if (fd_readdir(<u32>dir, buf.dataStart, bufLen, cookie, scratch) != 0) fail('cannot read /input')
    const used = <i32>load<u32>(scratch)
    let pos = 0
    let complete = 0
    while (pos + 24 <= used) {
      const entry = buf.dataStart + pos
      const nameLen = <i32>load<u32>(entry, 16)
      if (pos + 24 + nameLen > used) break
      const name = String.UTF8.decodeUnsafe(entry + 24, nameLen)
      if (load<u8>(entry, 20) == FILETYPE_REGULAR) names.push(name)
      cookie = load<u64>(entry)
      pos += 24 + nameLen
      complete++
    }
    if (used < bufLen) break
    if (complete == 0) {
      bufLen *= 2
      buf = new Uint8Array(bufLen)
    }
  }
  fd_close(<u32>dir)
  names.sort((a: string, b: string): i32 => (a < b ? -1 : a > b ? 1 : 0))
  return names
}

const counts = new Map<string, i32>()
let totalWords: i64 = 0
let word = new Uint8Array(64)
let wordLen: i32 = 0

function flushWord(): void {
  if (wordLen == 0) return
  const key = String.UTF8.decodeUnsafe(word.dataStart, wordLen)
  counts.set(key, counts.has(key) ? counts.get(key) + 1 : 1)
  totalWords++
  wordLen = 0
}

function countFile(dirfd: u32, name: string): void {
  const fd = openAt(dirfd, name, 0, RIGHT_FD_READ)
  if (fd < 0) fail('cannot open ' + name + ' (WASI errno ' + (-fd).toString() + ')')
  const chunk = new Uint8Array(READ_CHUNK)
  const iov = memory.data(8)
  while (true) {
    store<u32>(iov, <u32>chunk.dataStart)
    store<u32>(iov, <u32>READ_CHUNK, 4)
    const err = fd_read(<u32>fd, iov, 1, scratch)
    if (err != 0) fail('cannot read ' + name + ' (WASI errno ' + err.toString() + ')')
    const n = <i32>load<u32>(scratch)
    if (n == 0) break
    for (let i = 0; i < n; i++) {
      let b = unchecked(chunk[i])
      // ASCII whitespace: space, \t \n \v \f \r.
      if (b == 32 || (b >= 9 && b <= 13)) {
        flushWord()
        continue
      }
      if (b >= 65 && b <= 90) b += 32
      if (wordLen == word.length) {
        const bigger = new Uint8Array(word.length * 2)
        memory.copy(bigger.dataStart, word.dataStart, wordLen)
        word = bigger
      }
      unchecked((word[wordLen++] = b))
    }
  }
  flushWord()
  fd_close(<u32>fd)
}

function jsonString(s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c == 34) out += '\\"'
    else if (c == 92) out += '\\\\'
    else if (c < 32) out += '\\u00' + (c < 16 ? '0' : '') + c.toString(16)
    else out += String.fromCharCode(c)
  }
  return out + '"'
}

const inputDir = findInputDir()
const argv = process.argv
if (argv.length > 1) {
  let name = argv[1]
  if (name.startsWith('/input/')) name = name.substring(7)
  countFile(inputDir, name)
} else {
  const files = listFiles(inputDir)
  for (let i = 0; i < files.length; i++) countFile(inputDir, files[i])
}

const words = counts.keys()
words.sort((a: string, b: string): i32 => {
  const ca = counts.get(a)
  const cb = counts.get(b)
  if (ca != cb) return cb - ca
  return a < b ? -1 : a > b ? 1 : 0
})
let json = '{"words":' + totalWords.toString() + ',"unique":' + words.length.toString() + ',"top":['
const top = min(words.length, 10)
for (let i = 0; i < top; i++) {
  if (i > 0) json += ','
  json += '[' + jsonString(words[i]) + ',' + counts.get(words[i]).toString() + ']'
}
json += ']}\n'
process.stdout.write(json)
