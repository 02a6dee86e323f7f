import {
  assertCid,
  BaseError,
  type DataResponse,
  dataRequestSchema,
  dataResponseSchema,
  ErrorCode,
  InvalidMessageError,
  MAX_DATA_BYTES,
  PROTOCOL_DATA,
  parseCid,
} from '@bazaar/protocol'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { BazaarHost } from './create-host.ts'
import { deadline } from './deadline.ts'
import {
  ContentNotFoundError,
  ContentTooLargeError,
  PeerResetError,
  RemoteError,
  toAbortError,
  toErrorCode,
} from './errors.ts'
import { readExactly, readMessage, writeBytes, writeMessage } from './framed-stream.ts'
import { openStream } from './request-response.ts'

export const DEFAULT_TRANSFER_TIMEOUT_MS = 120_000
const CHUNK_BYTES = 64 * 1024

export type ContentLookup = (cid: string) => Promise<Uint8Array | undefined>

export interface ServeContentOptions {
  /** Budget for serving one request; default 120 s. */
  timeoutMs?: number
  /** Largest blob served; default MAX_DATA_BYTES. */
  maxBytes?: number
  logger?: Logger
  /** Called when a peer sends an invalid request; hook for peer scoring. */
  onInvalidRequest?: (err: InvalidMessageError, context: { peerId: PeerId }) => void
  /** Streams from these peers are reset unread (peers banned for misbehaviour). */
  isBanned?: (peer: PeerId) => boolean
  /**
   * TEST ONLY (the fault-injection e2e; never set in production): after the header and the
   * first half of a blob's bytes, wait this long before the rest, so a test can kill the node
   * in the middle of a transfer deterministically.
   */
  testStallMs?: number
}

/**
 * Serves PROTOCOL_DATA: reads one `data-request`, answers with a `data-response` header
 * (`ok: true, size` or `ok: false, code, message`) and, when ok, exactly `size` raw bytes
 * streamed in 64 KiB chunks with backpressure. Bytes are served as `lookup` returns them:
 * the fetcher verifies them against the CID. Returns a function that unregisters.
 */
export async function serveContent(
  host: BazaarHost,
  lookup: ContentLookup,
  options: ServeContentOptions = {},
): Promise<() => Promise<void>> {
  const log = (options.logger ?? host.logger).child({ protocol: PROTOCOL_DATA })
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS
  const maxBytes = Math.min(options.maxBytes ?? MAX_DATA_BYTES, MAX_DATA_BYTES)

  await host.handle(PROTOCOL_DATA, async (stream, connection) => {
    const peerId = connection.remotePeer
    if (options.isBanned?.(peerId)) {
      stream.abort(new Error('peer is banned'))
      return
    }
    const signal = deadline(undefined, timeoutMs)
    try {
      let cid: string
      try {
        cid = (await readMessage(stream, dataRequestSchema, { signal, what: 'data request' })).cid
        parseCid(cid)
      } catch (err) {
        if (err instanceof InvalidMessageError) {
          log.warn({ peer: peerId.toString(), err: err.message }, 'invalid data request')
          options.onInvalidRequest?.(err, { peerId })
        }
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        return
      }

      let header: DataResponse
      let bytes: Uint8Array | undefined
      try {
        bytes = await lookup(cid)
        if (bytes === undefined) {
          header = { type: 'data-response', ok: false, code: ErrorCode.NotFound, message: 'not found' }
        } else if (bytes.byteLength > maxBytes) {
          log.warn({ cid, size: bytes.byteLength, maxBytes }, 'refusing to serve a blob above the cap')
          header = {
            type: 'data-response',
            ok: false,
            code: ErrorCode.OutputTooLarge,
            message: 'too large to serve',
          }
        } else {
          header = { type: 'data-response', ok: true, size: bytes.byteLength }
        }
      } catch (err) {
        log.error({ cid, err: String(err) }, 'content lookup failed')
        const code = err instanceof BaseError ? err.code : ErrorCode.Internal
        header = { type: 'data-response', ok: false, code, message: 'lookup failed' }
      }

      await writeMessage(stream, header, { signal })
      if (header.ok && bytes !== undefined && options.testStallMs) {
        const half = Math.floor(bytes.byteLength / 2)
        await writeBytes(stream, bytes.subarray(0, half), { signal, chunkBytes: CHUNK_BYTES })
        log.warn({ cid, sent: half, size: bytes.byteLength }, 'test: stalling data transfer')
        await new Promise((resolve) => setTimeout(resolve, options.testStallMs))
        bytes = bytes.subarray(half)
      }
      if (header.ok && bytes !== undefined)
        await writeBytes(stream, bytes, { signal, chunkBytes: CHUNK_BYTES })
      await stream.close({ signal })
      log.debug({ peer: peerId.toString(), cid, ok: header.ok }, 'served data request')
    } catch (err) {
      log.debug({ peer: peerId.toString(), err: String(err) }, 'data transfer failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
  return () => host.unhandle(PROTOCOL_DATA)
}

export interface FetchContentOptions {
  signal?: AbortSignal
  /** Budget for the whole transfer; default 120 s. */
  timeoutMs?: number
  /** Largest size accepted; default (and at most) MAX_DATA_BYTES. */
  maxBytes?: number
}

/**
 * Fetches the blob named `cid` from `peer` and verifies it: reads the header, refuses a
 * size above `maxBytes` (ContentTooLargeError) before reading any byte, reads exactly
 * `size` bytes, then checks them against the CID (CidMismatchError). A peer without the
 * blob gives ContentNotFoundError; other refusals RemoteError.
 */
export async function fetchContent(
  host: BazaarHost,
  peer: PeerId | Multiaddr,
  cid: string,
  options: FetchContentOptions = {},
): Promise<Uint8Array> {
  parseCid(cid)
  const maxBytes = Math.min(options.maxBytes ?? MAX_DATA_BYTES, MAX_DATA_BYTES)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS
  const signal = deadline(options.signal, timeoutMs)
  const stream = await openStream(host, peer, PROTOCOL_DATA, signal)
  try {
    await writeMessage(stream, { type: 'data-request', cid }, { signal })
    await stream.close({ signal })
    const header = await readMessage(stream, dataResponseSchema, { signal, timeoutMs, what: 'data response' })
    if (!header.ok) {
      stream.abort(new Error('refused'))
      if (header.code === ErrorCode.NotFound)
        throw new ContentNotFoundError(cid, peer.toString(), header.message)
      throw new RemoteError(
        toErrorCode(header.code),
        `peer refused ${cid}: ${header.code}: ${header.message}`,
        {
          details: { cid, peer: peer.toString(), remoteCode: header.code },
        },
      )
    }
    if (header.size > maxBytes) {
      const err = new ContentTooLargeError(cid, header.size, maxBytes)
      stream.abort(err)
      throw err
    }
    const bytes = new Uint8Array(header.size)
    await readExactly(stream, bytes, { signal, timeoutMs, what: `content ${cid}` }).catch((err: unknown) => {
      // Raw bytes cannot be malformed: a body that stops short is a transfer cut (the peer died
      // or the link dropped), which a later try may not meet.
      if (err instanceof InvalidMessageError) {
        throw new PeerResetError(`${err.message}: the transfer was cut short`, { cause: err })
      }
      throw err
    })
    await assertCid(bytes, cid)
    return bytes
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    if (signal.aborted && !(err instanceof BaseError)) throw toAbortError(signal.reason, `fetch ${cid}`)
    throw err
  }
}
