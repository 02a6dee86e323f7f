import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { BaseError, ErrorCode, encodeMessage, InvalidMessageError } from '@bazaar/protocol'
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { type BazaarHost, createBazaarHost } from './create-host.ts'
import { encodeFrame, readFrame, writeMessage } from './framed-stream.ts'
import { handleRequests, sendRequest } from './request-response.ts'

const ECHO = '/bazaar/test-echo/1.0.0'
const SLOW = '/bazaar/test-slow/1.0.0'
const SILENT = '/bazaar/test-silent/1.0.0'

const echoRequest = z.object({ type: z.literal('echo'), text: z.string().max(70_000) }).strict()
const echoReply = z.object({ type: z.literal('echo-reply'), text: z.string() }).strict()

class QuotaError extends BaseError {
  override name = 'QuotaError' as const
  constructor() {
    super(ErrorCode.NoBids, 'quota exhausted')
  }
}

describe('request/response', () => {
  let server: BazaarHost
  let client: BazaarHost
  const invalid: Array<{ err: InvalidMessageError; peerId: PeerId }> = []
  let onInvalid: (() => void) | undefined

  before(async () => {
    server = await createBazaarHost()
    client = await createBazaarHost()
    await handleRequests(
      server,
      ECHO,
      echoRequest,
      async (req) => {
        if (req.text === 'throw') throw new Error('secret internal detail')
        if (req.text === 'quota') throw new QuotaError()
        return { type: 'echo-reply', text: req.text }
      },
      {
        onInvalidRequest: (err, { peerId }) => {
          invalid.push({ err, peerId })
          onInvalid?.()
        },
      },
    )
    await handleRequests(
      server,
      SLOW,
      echoRequest,
      (_req, { signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { timeoutMs: 300 },
    )
    // a server that accepts the stream and never answers
    await server.handle(SILENT, () => {})
  })

  after(async () => {
    await Promise.all([client?.stop(), server?.stop()])
  })

  const echo = (text: string, options = {}) =>
    sendRequest(client, server.multiaddrs()[0]!, ECHO, { type: 'echo', text }, echoReply, options)

  /** Waits for the server to report the next invalid request. */
  const nextInvalid = () =>
    new Promise<{ err: InvalidMessageError; peerId: PeerId }>((resolve) => {
      const seen = invalid.length
      onInvalid = () => {
        if (invalid.length > seen) resolve(invalid[seen]!)
      }
    })

  it('round-trips a request', async () => {
    assert.deepEqual(await echo('hello'), { type: 'echo-reply', text: 'hello' })
  })

  it('turns a handler error into an error response and keeps serving', async () => {
    await assert.rejects(echo('throw'), (err: BaseError) => {
      assert.equal(err.name, 'RemoteError')
      assert.equal(err.code, ErrorCode.Internal)
      assert.doesNotMatch(err.message, /secret/)
      return true
    })
    await assert.rejects(
      echo('quota'),
      (err: BaseError) => err.name === 'RemoteError' && err.code === ErrorCode.NoBids,
    )
    assert.deepEqual(await echo('still alive'), { type: 'echo-reply', text: 'still alive' })
  })

  it('rejects an oversized request frame on the server and keeps serving', async () => {
    const reported = nextInvalid()
    const stream = await client.dialProtocol(server.peerId, ECHO)
    // bypass the sender-side cap: 70 000 chars > MAX_CONTROL_MESSAGE_BYTES
    await writeMessage(
      stream,
      { type: 'echo', text: 'x'.repeat(70_000) },
      { maxBytes: Number.POSITIVE_INFINITY },
    )
    const { err, peerId } = await reported
    assert.equal(err.name, 'InvalidMessageError')
    assert.match(err.message, /exceeds/)
    assert.ok(peerId.equals(client.peerId))
    // the server aborted the stream: our read fails instead of hanging
    await assert.rejects(readFrame(stream, { timeoutMs: 5_000 }), (e: Error) => e.name !== 'PeerTimeoutError')
    assert.deepEqual(await echo('after oversize'), { type: 'echo-reply', text: 'after oversize' })
  })

  it('rejects a non-JSON frame and a schema violation on the server', async () => {
    for (const body of [new TextEncoder().encode('not json {'), encodeMessage({ type: 'echo', text: 42 })]) {
      const reported = nextInvalid()
      const stream = await client.dialProtocol(server.peerId, ECHO)
      stream.send(encodeFrame(body))
      const { err } = await reported
      assert.ok(err instanceof InvalidMessageError)
      assert.equal(err.code, ErrorCode.InvalidMessage)
    }
    assert.deepEqual(await echo('after garbage'), { type: 'echo-reply', text: 'after garbage' })
  })

  it('caps the response size on the client side', async () => {
    await assert.rejects(echo('x'.repeat(1_000), { maxResponseBytes: 100 }), (err: Error) => {
      assert.equal(err.name, 'InvalidMessageError')
      return true
    })
  })

  it('times out against a server that never answers', async () => {
    await assert.rejects(
      sendRequest(client, server.peerId, SILENT, { type: 'echo', text: 'hi' }, echoReply, { timeoutMs: 500 }),
      (err: BaseError) => err.name === 'PeerTimeoutError' && err.code === ErrorCode.Timeout,
    )
  })

  it('reports a handler that overruns its budget as a timeout error response', async () => {
    await assert.rejects(
      sendRequest(client, server.peerId, SLOW, { type: 'echo', text: 'hi' }, echoReply),
      (err: BaseError) => err.name === 'RemoteError' && err.code === ErrorCode.Timeout,
    )
  })

  it('honours the caller signal', async () => {
    const controller = new AbortController()
    const pending = sendRequest(client, server.peerId, SILENT, { type: 'echo', text: 'hi' }, echoReply, {
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 100)
    await assert.rejects(pending, (err: Error) => err.name === 'OperationAbortedError')
    assert.deepEqual(await echo('after abort'), { type: 'echo-reply', text: 'after abort' })
  })
})

describe('dialing a peer by id', () => {
  it('uses the bootstrap address at once after start, before bootstrap discovery runs', async () => {
    const server = await createBazaarHost()
    await handleRequests(server, ECHO, echoRequest, async (req) => ({ type: 'echo-reply', text: req.text }))
    const client = await createBazaarHost({ bootstrap: [server.multiaddrs()[0]!.toString()] })
    try {
      // No connection yet and no discovery event: the address must come from the peer store.
      assert.equal(client.getConnections(server.peerId).length, 0)
      const reply = await sendRequest(
        client,
        server.peerId,
        ECHO,
        { type: 'echo', text: 'resumed' },
        echoReply,
        {
          timeoutMs: 5_000,
        },
      )
      assert.deepEqual(reply, { type: 'echo-reply', text: 'resumed' })
    } finally {
      await Promise.all([client.stop(), server.stop()])
    }
  })

  it('fails at once with a typed, retryable error when no address is known and nobody can be asked', async () => {
    const [lonely, stranger] = await Promise.all([createBazaarHost(), createBazaarHost()])
    try {
      await assert.rejects(
        sendRequest(lonely, stranger.peerId, ECHO, { type: 'echo', text: 'hi' }, echoReply, {
          timeoutMs: 10_000,
        }),
        // Not a PeerTimeoutError: it did not wait out a lookup.
        (err: BaseError) =>
          err.name === 'PeerAddressUnknownError' &&
          err.code === ErrorCode.NotFound &&
          err.hint !== undefined &&
          err.details?.peer === stranger.peerId.toString(),
      )
      // Once the address is known the same peer is reachable: the failed try left nothing stuck.
      await handleRequests(stranger, ECHO, echoRequest, async (req) => ({
        type: 'echo-reply',
        text: req.text,
      }))
      await lonely.peerStore.merge(stranger.peerId, { multiaddrs: stranger.multiaddrs() })
      const reply = await sendRequest(lonely, stranger.peerId, ECHO, { type: 'echo', text: 'now' }, echoReply)
      assert.deepEqual(reply, { type: 'echo-reply', text: 'now' })
    } finally {
      await Promise.all([lonely.stop(), stranger.stop()])
    }
  })
})
