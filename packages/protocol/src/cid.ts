import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { bytesToHex, type Hex, hexToBytes } from 'viem'
import { CidMismatchError, InvalidMessageError } from './errors.ts'

/**
 * Content addressing: every module, input and output is named by a CIDv1 (raw codec,
 * sha2-256). The same 32-byte digest is what the contracts store as `bytes32`, so a CID
 * and an on-chain hash convert both ways without loss.
 */
export async function cidOf(bytes: Uint8Array): Promise<string> {
  const digest = await sha256.digest(bytes)
  return CID.createV1(raw.code, digest).toString()
}

/** Parses and validates a CID string; only raw/sha2-256 CIDs are used by Bazaar. */
export function parseCid(text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text)
  } catch (cause) {
    throw new InvalidMessageError(`not a CID: ${JSON.stringify(text.slice(0, 80))}`, {
      hint: 'CIDs look like bafkrei...',
      cause,
    })
  }
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== sha256.code) {
    throw new InvalidMessageError(`unsupported CID ${text}: expected CIDv1, raw codec, sha2-256`)
  }
  return cid
}

/** Throws CidMismatchError unless `bytes` hash to `expected`. */
export async function assertCid(bytes: Uint8Array, expected: string): Promise<void> {
  parseCid(expected)
  const actual = await cidOf(bytes)
  if (actual !== expected) throw new CidMismatchError(expected, actual)
}

/** The sha2-256 digest inside a CID, as the `bytes32` the contracts store. */
export function cidToBytes32(text: string): Hex {
  return bytesToHex(parseCid(text).multihash.digest)
}

/** Inverse of cidToBytes32. */
export function bytes32ToCid(hash: Hex): string {
  const digest = hexToBytes(hash)
  if (digest.length !== 32) throw new InvalidMessageError(`expected 32 bytes, got ${digest.length}`)
  return CID.createV1(raw.code, createDigest(sha256.code, digest)).toString()
}
