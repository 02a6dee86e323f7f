import {
  decodeMessage,
  encodeMessage,
  InvalidMessageError,
  MAX_CONTROL_MESSAGE_BYTES,
} from '@bazaar/protocol'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { z } from 'zod'
import { deadline } from './deadline.ts'
import { PeerResetError, toAbortError } from './errors.ts'

/**
 * Length-prefixed (unsigned varint) JSON frames, plus raw bytes after them, on a libp2p v3
 * stream. v3 streams are event emitters (`message` / `end` / `close` events, `send()` +
 * `onDrain()` for writing); this module keeps one buffered reader per stream (in a WeakMap)
 * so several reads on the same stream share what was already received.
 *
 * Every read is capped and has a deadline. When a read fails (oversized or invalid frame,
 * timeout, abort, early end) the stream is aborted: its framing can no longer be trusted.
 * Reads on one stream must not run concurrently.
 */

export const DEFAULT_READ_TIMEOUT_MS = 10_000
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000
/** Bytes a peer may have in flight beyond what we have consumed before we abort its stream. */
export const MAX_UNREAD_BYTES = 16 * 1024 * 1024

export interface ReadOptions {
  signal?: AbortSignal
  /** Deadline for this read; default DEFAULT_READ_TIMEOUT_MS. */
  timeoutMs?: number
  /** Names the message in errors, e.g. 'bid reply'. */
  what?: string
}

export interface ReadMessageOptions extends ReadOptions {
  /** Largest accepted frame body; default MAX_CONTROL_MESSAGE_BYTES. */
  maxBytes?: number
}

export interface WriteOptions {
  signal?: AbortSignal
  /** Deadline for the write (waiting for the send buffer to drain); default DEFAULT_WRITE_TIMEOUT_MS. */
  timeoutMs?: number
  /** Largest frame body we agree to send; default MAX_CONTROL_MESSAGE_BYTES. */
  maxBytes?: number
}

class StreamReader {
  readonly buffer = new Uint8ArrayList()
  readonly #stream: Stream
  #ended = false
  #closed = false
  #error: Error | undefined
  #waiter: (() => void) | undefined

  constructor(stream: Stream) {
    this.#stream = stream
    stream.addEventListener('message', (evt) => {
      if (this.#error !== undefined) return
      this.buffer.append(evt.data)
      if (this.buffer.byteLength > MAX_UNREAD_BYTES) {
        const err = new InvalidMessageError(`peer sent more than ${MAX_UNREAD_BYTES} unread bytes`)
        this.#error = err
        this.buffer.consume(this.buffer.byteLength)
        queueMicrotask(() => stream.abort(err))
      }
      this.#wake()
    })
    stream.addEventListener('end', () => {
      this.#ended = true
      this.#wake()
    })
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined) this.#error ??= evt.error
      this.#closed = true
      this.#wake()
    })
    if (stream.readableEnded) this.#ended = true
    if (stream.status === 'aborted' || stream.status === 'reset')
      this.#error ??= new Error(`stream ${stream.status}`)
    if (stream.status === 'closed') this.#closed = true
  }

  #wake(): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.()
  }

  #atEnd(): boolean {
    return this.#ended || (this.#closed && this.#stream.readBufferLength === 0)
  }

  /** Waits until at least `n` bytes are buffered. */
  async fill(n: number, signal: AbortSignal, what: string): Promise<void> {
    while (this.buffer.byteLength < n) {
      if (signal.aborted) throw toAbortError(signal.reason, what)
      if (this.#error !== undefined) {
        if (this.#error instanceof InvalidMessageError) throw this.#error
        throw new PeerResetError(`${what}: stream closed with an error`, { cause: this.#error })
      }
      if (this.#atEnd()) {
        throw new InvalidMessageError(`${what}: stream ended after ${this.buffer.byteLength} of ${n} bytes`)
      }
      if (this.#waiter !== undefined) throw new Error('concurrent reads on one stream are not supported')
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.#waiter = done
        signal.addEventListener('abort', done, { once: true })
      })
      this.#waiter = undefined
    }
  }

  async readFrame(maxBytes: number, signal: AbortSignal, what: string): Promise<Uint8Array> {
    const maxPrefix = varintLength(maxBytes)
    let length = 0
    let prefix = 0
    for (;;) {
      await this.fill(prefix + 1, signal, what)
      const byte = this.buffer.get(prefix)
      length += (byte & 0x7f) * 2 ** (7 * prefix)
      prefix++
      if ((byte & 0x80) === 0) break
      if (prefix >= maxPrefix) {
        throw new InvalidMessageError(`${what}: frame exceeds the ${maxBytes}-byte cap`)
      }
    }
    if (length > maxBytes) {
      throw new InvalidMessageError(`${what}: frame of ${length} bytes exceeds the ${maxBytes}-byte cap`, {
        details: { length, maxBytes },
      })
    }
    await this.fill(prefix + length, signal, what)
    this.buffer.consume(prefix)
    const body = this.buffer.subarray(0, length)
    this.buffer.consume(length)
    return body
  }

  async readInto(target: Uint8Array, signal: AbortSignal, what: string): Promise<void> {
    let offset = 0
    while (offset < target.byteLength) {
      await this.fill(1, signal, `${what} (${offset} of ${target.byteLength} bytes)`)
      let taken = 0
      for (const chunk of this.buffer) {
        const take = Math.min(chunk.byteLength, target.byteLength - offset)
        target.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), offset)
        offset += take
        taken += take
        if (offset === target.byteLength) break
      }
      this.buffer.consume(taken)
    }
  }
}

const readers = new WeakMap<Stream, StreamReader>()

function readerOf(stream: Stream): StreamReader {
  let reader = readers.get(stream)
  if (reader === undefined) {
    reader = new StreamReader(stream)
    readers.set(stream, reader)
  }
  return reader
}

async function guardedRead<T>(
  stream: Stream,
  options: ReadOptions,
  what: string,
  read: (reader: StreamReader, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const signal = deadline(options.signal, options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS)
  try {
    return await read(readerOf(stream), signal)
  } catch (cause) {
    const err = signal.aborted ? toAbortError(signal.reason, what) : cause
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/** Reads one length-prefixed frame body (at most `maxBytes`). */
export async function readFrame(stream: Stream, options: ReadMessageOptions = {}): Promise<Uint8Array> {
  const what = options.what ?? 'message'
  const maxBytes = options.maxBytes ?? MAX_CONTROL_MESSAGE_BYTES
  return guardedRead(stream, options, what, (reader, signal) => reader.readFrame(maxBytes, signal, what))
}

/**
 * Reads one frame and validates it with `schema` (via the protocol's `decodeMessage`).
 * Throws InvalidMessageError for oversized, non-JSON or schema-violating frames,
 * PeerTimeoutError / OperationAbortedError when the deadline or signal fires; in all those
 * cases the stream has been aborted.
 */
export async function readMessage<T>(
  stream: Stream,
  schema: z.ZodType<T>,
  options: ReadMessageOptions = {},
): Promise<T> {
  const what = options.what ?? 'message'
  const maxBytes = options.maxBytes ?? MAX_CONTROL_MESSAGE_BYTES
  return guardedRead(stream, options, what, async (reader, signal) =>
    decodeMessage(schema, await reader.readFrame(maxBytes, signal, what), what),
  )
}

/** Reads exactly `target.byteLength` raw bytes into `target`. */
export async function readExactly(
  stream: Stream,
  target: Uint8Array,
  options: ReadOptions = {},
): Promise<void> {
  const what = options.what ?? 'data'
  return guardedRead(stream, options, what, (reader, signal) => reader.readInto(target, signal, what))
}

/** Encodes `body` as one frame: unsigned varint length, then the bytes. */
export function encodeFrame(body: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(encodeVarint(body.byteLength), body)
}

/** Sends one JSON frame; waits for the send buffer to drain when it is full. */
export async function writeMessage(
  stream: Stream,
  message: object,
  options: WriteOptions = {},
): Promise<void> {
  const body = encodeMessage(message)
  const maxBytes = options.maxBytes ?? MAX_CONTROL_MESSAGE_BYTES
  if (body.byteLength > maxBytes) {
    throw new InvalidMessageError(
      `refusing to send a ${body.byteLength}-byte message; the cap is ${maxBytes}`,
    )
  }
  await sendWithBackpressure(stream, encodeFrame(body), options)
}

/** Sends raw bytes in chunks of `chunkBytes`, honouring backpressure. */
export async function writeBytes(
  stream: Stream,
  bytes: Uint8Array,
  options: WriteOptions & { chunkBytes?: number } = {},
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024
  const signal = deadline(options.signal, options.timeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS)
  for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) {
    await sendWithBackpressure(stream, bytes.subarray(offset, offset + chunkBytes), { signal })
  }
}

async function sendWithBackpressure(
  stream: Stream,
  data: Uint8Array | Uint8ArrayList,
  options: { signal?: AbortSignal; timeoutMs?: number },
): Promise<void> {
  if (stream.writableNeedsDrain) await drain(stream, options)
  if (!stream.send(data)) await drain(stream, options)
}

async function drain(stream: Stream, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
  const signal = deadline(options.signal, options.timeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS)
  try {
    await stream.onDrain({ signal })
  } catch (cause) {
    if (signal.aborted) throw toAbortError(signal.reason, 'write')
    throw new PeerResetError('write: stream closed', { cause })
  }
}

function encodeVarint(value: number): Uint8Array {
  const out: number[] = []
  let rest = value
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80)
    rest = Math.floor(rest / 0x80)
  }
  out.push(rest)
  return Uint8Array.from(out)
}

function varintLength(value: number): number {
  let n = 1
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) n++
  return n
}
