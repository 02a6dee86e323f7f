import {
  BaseError,
  decodeMessage,
  ErrorCode,
  InvalidMessageError,
  MAX_CONTROL_MESSAGE_BYTES,
} from '@bazaar/protocol'
import type { PeerId, Stream } from '@libp2p/interface'
import { isMultiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { BazaarHost } from './create-host.ts'
import { deadline } from './deadline.ts'
import { PeerAddressUnknownError, RemoteError, toAbortError, toErrorCode } from './errors.ts'
import { readFrame, readMessage, writeMessage } from './framed-stream.ts'

/**
 * The frame a server sends instead of its normal response when the handler failed.
 * TODO(protocol): belongs in @bazaar/protocol's messages.ts (an `errorResponseSchema`).
 */
export const errorResponseSchema = z
  .object({ type: z.literal('error'), code: z.string().max(64), message: z.string().max(512) })
  .strict()
export type ErrorResponse = z.output<typeof errorResponseSchema>

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000
const RESPONSE_WRITE_TIMEOUT_MS = 10_000

export interface RequestContext {
  /** The authenticated (noise) identity of the remote peer. */
  peerId: PeerId
  /** Fires when the handler's time budget (`timeoutMs`) is spent. */
  signal: AbortSignal
}

export type RequestHandler<Req> = (request: Req, context: RequestContext) => Promise<object>

export interface HandleRequestsOptions {
  /** Budget for one exchange: read request, run handler, write response; default 15 s. */
  timeoutMs?: number
  /** Largest accepted request frame; default MAX_CONTROL_MESSAGE_BYTES. */
  maxRequestBytes?: number
  /** Largest response frame we send; default MAX_CONTROL_MESSAGE_BYTES. */
  maxResponseBytes?: number
  /** Concurrent inbound streams per connection for this protocol; default 32 (libp2p's). */
  maxInboundStreams?: number
  logger?: Logger
  /** Called when a peer sends garbage (oversized, non-JSON, schema violation); hook for peer scoring. */
  onInvalidRequest?: (err: InvalidMessageError, context: { peerId: PeerId }) => void
  /** Streams from these peers are reset unread (peers banned for misbehaviour). */
  isBanned?: (peer: PeerId) => boolean
}

/**
 * Serves `protocol`: each inbound stream carries one request frame (validated with
 * `requestSchema`) and gets one response frame. A handler error becomes an error frame
 * (`{ type: 'error', code, message }`, the code from a BaseError or E_INTERNAL); an invalid
 * request aborts the stream and is reported via `onInvalidRequest`. Nothing thrown here
 * reaches libp2p. Returns a function that unregisters the protocol.
 */
export async function handleRequests<Req>(
  host: BazaarHost,
  protocol: string,
  requestSchema: z.ZodType<Req>,
  handler: RequestHandler<Req>,
  options: HandleRequestsOptions = {},
): Promise<() => Promise<void>> {
  const log = (options.logger ?? host.logger).child({ protocol })
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const maxRequestBytes = options.maxRequestBytes ?? MAX_CONTROL_MESSAGE_BYTES
  const maxResponseBytes = options.maxResponseBytes ?? MAX_CONTROL_MESSAGE_BYTES

  await host.handle(
    protocol,
    async (stream, connection) => {
      const peerId = connection.remotePeer
      if (options.isBanned?.(peerId)) {
        stream.abort(new Error('peer is banned'))
        return
      }
      const signal = deadline(undefined, timeoutMs)
      let request: Req
      try {
        request = await readMessage(stream, requestSchema, {
          signal,
          timeoutMs,
          maxBytes: maxRequestBytes,
          what: `${protocol} request`,
        })
      } catch (err) {
        if (err instanceof InvalidMessageError) {
          log.warn({ peer: peerId.toString(), err: err.message }, 'invalid request; stream aborted')
          try {
            options.onInvalidRequest?.(err, { peerId })
          } catch (hookErr) {
            log.error({ err: String(hookErr) }, 'onInvalidRequest hook threw')
          }
        } else {
          log.debug({ peer: peerId.toString(), err: String(err) }, 'request not received')
        }
        return
      }

      let response: object
      try {
        response = await raceAbort(handler(request, { peerId, signal }), signal, `${protocol} handler`)
      } catch (err) {
        response = toErrorResponse(signal.aborted ? toAbortError(signal.reason, `${protocol} handler`) : err)
        log.debug({ peer: peerId.toString(), code: (response as ErrorResponse).code }, 'handler failed')
      }
      // the handler's budget may be spent: writing the answer gets its own deadline
      const writeSignal = deadline(undefined, RESPONSE_WRITE_TIMEOUT_MS)
      try {
        try {
          await writeMessage(stream, response, { signal: writeSignal, maxBytes: maxResponseBytes })
        } catch (err) {
          if (!(err instanceof InvalidMessageError)) throw err
          log.error({ err: err.message }, 'handler response too large')
          await writeMessage(stream, toErrorResponse(err), { signal: writeSignal })
        }
        await stream.close({ signal: writeSignal })
      } catch (err) {
        log.debug({ peer: peerId.toString(), err: String(err) }, 'could not send response')
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    },
    { ...(options.maxInboundStreams === undefined ? {} : { maxInboundStreams: options.maxInboundStreams }) },
  )
  return () => host.unhandle(protocol)
}

export interface SendRequestOptions {
  signal?: AbortSignal
  /** Budget for dial + request + response; default 15 s. */
  timeoutMs?: number
  /** Largest accepted response frame; default MAX_CONTROL_MESSAGE_BYTES. */
  maxResponseBytes?: number
}

/**
 * Opens a stream to `peer` on `protocol` (dialing if needed), sends `request` as one frame,
 * and returns the response validated with `responseSchema`. Throws RemoteError when the
 * server answered with an error frame, InvalidMessageError for an invalid response,
 * PeerTimeoutError / OperationAbortedError when the deadline or signal fires.
 */
export async function sendRequest<Res>(
  host: BazaarHost,
  peer: PeerId | Multiaddr,
  protocol: string,
  request: object,
  responseSchema: z.ZodType<Res>,
  options: SendRequestOptions = {},
): Promise<Res> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const signal = deadline(options.signal, timeoutMs)
  const what = `${protocol} response`
  const stream = await openStream(host, peer, protocol, signal)
  try {
    await writeMessage(stream, request, { signal })
    await stream.close({ signal })
    const bytes = await readFrame(stream, {
      signal,
      timeoutMs,
      maxBytes: options.maxResponseBytes ?? MAX_CONTROL_MESSAGE_BYTES,
      what,
    })
    throwIfErrorResponse(bytes, what, peer)
    return decodeMessage(responseSchema, bytes, what)
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    if (signal.aborted && !(err instanceof BaseError)) throw toAbortError(signal.reason, what)
    throw err
  }
}

/** Dials `peer` and negotiates `protocol`, mapping deadline / abort failures to typed errors. */
/** Longest a dial (connection and protocol negotiation) may take before it is called failed. */
export const DIAL_TIMEOUT_MS = 15_000

export async function openStream(
  host: BazaarHost,
  peer: PeerId | Multiaddr,
  protocol: string,
  signal: AbortSignal,
): Promise<Stream> {
  // The dial gets its own, shorter budget: a dial that hangs (a stale address that accepts TCP
  // but never finishes the handshake) must fail in time for the caller to try again, not eat
  // the whole transfer budget.
  const dialSignal = deadline(signal, DIAL_TIMEOUT_MS)
  try {
    if (!isMultiaddr(peer)) await ensurePeerAddress(host, peer, dialSignal)
    return await host.dialProtocol(peer, protocol, { signal: dialSignal })
  } catch (err) {
    if (dialSignal.aborted) throw toAbortError(dialSignal.reason, `dial ${protocol}`)
    throw err
  }
}

/**
 * Makes sure a dial by peer id has an address to try. libp2p would otherwise start a DHT lookup
 * inside its dial queue, and every later dial of that peer (bootstrap's included) joins that
 * pending dial instead of using an address learnt meanwhile: with an empty routing table the
 * lookup outlives any deadline and the peer stays unreachable for good (seen when a restarted
 * requester resumed a job before its bootstrap peer was known). Here the lookup runs under our
 * deadline, outside the dial queue, and an unknown peer is a typed, retryable error.
 */
async function ensurePeerAddress(host: BazaarHost, peer: PeerId, signal: AbortSignal): Promise<void> {
  if (host.getConnections(peer).length > 0) return
  const known = await host.peerStore.get(peer).catch(() => undefined)
  if (known !== undefined && known.addresses.length > 0) return
  // Nobody to ask: a lookup could only wait out the deadline.
  if (host.getConnections().length === 0) throw new PeerAddressUnknownError(peer.toString())
  let found: Multiaddr[]
  try {
    found = (await host.peerRouting.findPeer(peer, { signal })).multiaddrs
  } catch (err) {
    if (signal.aborted) throw err
    throw new PeerAddressUnknownError(peer.toString(), { cause: err })
  }
  if (found.length === 0) throw new PeerAddressUnknownError(peer.toString())
  await host.peerStore.merge(peer, { multiaddrs: found })
}

/** Throws RemoteError if `bytes` is an error frame; otherwise returns. */
export function throwIfErrorResponse(bytes: Uint8Array, what: string, peer: PeerId | Multiaddr): void {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return // decodeMessage will report it
  }
  const result = errorResponseSchema.safeParse(parsed)
  if (result.success) {
    throw new RemoteError(
      toErrorCode(result.data.code),
      `${what}: peer answered ${result.data.code}: ${result.data.message}`,
      {
        details: { peer: peer.toString(), remoteCode: result.data.code },
      },
    )
  }
}

/** What a failed handler sends: BaseErrors keep their code and message, anything else is E_INTERNAL. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof BaseError) return { type: 'error', code: err.code, message: err.message.slice(0, 512) }
  return { type: 'error', code: ErrorCode.Internal, message: 'internal error' }
}

async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) throw toAbortError(signal.reason, what)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(toAbortError(signal.reason, what))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}
