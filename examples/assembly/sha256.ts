/**
 * sha256: SHA-256 (FIPS 180-4) of generated data, a bit-twiddling integer workload.
 *
 * Usage:
 *   sha256 [KIB]
 *
 *   KIB  how much data, in KiB (default 1024). The data is one 64 KiB block repeated (and cut
 *        at KIB KiB): byte j of the block is (j * 31 + (j >> 8)) & 0xff, so anyone can
 *        regenerate and check it. Generating it costs little next to hashing it.
 *
 * Output on stdout: the digest as 64 lowercase hex digits and a newline. A bad argument:
 * a message on stderr and exit code 2.
 */

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]

const H = new StaticArray<u32>(8)
const W = new StaticArray<u32>(64)

function fail(message: string): void {
  process.stderr.write('sha256: ' + message + '\n')
  process.exit(2)
}

function compress(block: usize): void {
  for (let t = 0; t < 16; t++) unchecked((W[t] = bswap<u32>(load<u32>(block + (<usize>t << 2)))))
  for (let t = 16; t < 64; t++) {
    const w15 = unchecked(W[t - 15])
    const w2 = unchecked(W[t - 2])
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3)
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10)
    unchecked((W[t] = unchecked(W[t - 16]) + s0 + unchecked(W[t - 7]) + s1))
  }
  let a = unchecked(H[0])
  let b = unchecked(H[1])
  let c = unchecked(H[2])
  let d = unchecked(H[3])
  let e = unchecked(H[4])
  let f = unchecked(H[5])
  let g = unchecked(H[6])
  let h = unchecked(H[7])
  for (let t = 0; t < 64; t++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)
    const ch = (e & f) ^ (~e & g)
    const t1 = h + S1 + ch + unchecked(K[t]) + unchecked(W[t])
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)
    const maj = (a & b) ^ (a & c) ^ (b & c)
    const t2 = S0 + maj
    h = g
    g = f
    f = e
    e = d + t1
    d = c
    c = b
    b = a
    a = t1 + t2
  }
  unchecked((H[0] += a))
  unchecked((H[1] += b))
  unchecked((H[2] += c))
  unchecked((H[3] += d))
  unchecked((H[4] += e))
  unchecked((H[5] += f))
  unchecked((H[6] += g))
  unchecked((H[7] += h))
}

let kib: i32 = 1024
const argv = process.argv
if (argv.length > 2) fail('usage: sha256 [KIB]')
if (argv.length == 2) {
  const value = I32.parseInt(argv[1])
  if (value < 0 || value > 1 << 20 || value.toString() != argv[1]) fail('KIB must be an integer in 0..1048576')
  kib = value
}

const INIT: StaticArray<u32> = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]
for (let i = 0; i < 8; i++) unchecked((H[i] = INIT[i]))

// The 64 KiB block, generated once, then hashed as many times as it fits.
const CHUNK: i32 = 64 * 1024
const chunk = new Uint8Array(CHUNK)
for (let j = 0; j < CHUNK; j++) unchecked((chunk[j] = <u8>((j * 31 + (j >> 8)) & 0xff)))
const total: u64 = <u64>kib * 1024
let offset: u64 = 0
while (offset + <u64>CHUNK <= total) {
  for (let block = 0; block < CHUNK; block += 64) compress(chunk.dataStart + <usize>block)
  offset += <u64>CHUNK
}
// The rest (less than one block), then padding: 0x80, zeros, the length in bits (big-endian).
const rest = <i32>(total - offset)
const tail = new Uint8Array(((rest + 8) / 64 + 1) * 64)
memory.copy(tail.dataStart, chunk.dataStart, <usize>rest)
tail[rest] = 0x80
store<u64>(tail.dataStart + <usize>(tail.length - 8), bswap<u64>(total * 8))
for (let block = 0; block < tail.length; block += 64) compress(tail.dataStart + <usize>block)

const HEX = '0123456789abcdef'
let out = ''
for (let i = 0; i < 8; i++) {
  const word = unchecked(H[i])
  for (let shift = 28; shift >= 0; shift -= 4) out += HEX.charAt((word >>> shift) & 0xf)
}
process.stdout.write(out + '\n')
