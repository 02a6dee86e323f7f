import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { type BaseError, cidOf, dataRequestSchema, ErrorCode, PROTOCOL_DATA } from '@bazaar/protocol'
import { fetchContent, serveContent } from './content-transfer.ts'
import { type BazaarHost, createBazaarHost } from './create-host.ts'
import { readMessage, writeMessage } from './framed-stream.ts'

describe('content transfer', () => {
  let server: BazaarHost
  let liar: BazaarHost
  let client: BazaarHost
  let broken: BazaarHost
  const blobs = new Map<string, Uint8Array>()
  let big: Uint8Array
  let bigCid: string

  before(async () => {
    ;[server, liar, client, broken] = await Promise.all([
      createBazaarHost(),
      createBazaarHost(),
      createBazaarHost(),
      createBazaarHost(),
    ])
    big = new Uint8Array(randomBytes(5 * 1024 * 1024))
    bigCid = await cidOf(big)
    blobs.set(bigCid, big)
    await serveContent(server, async (cid) => blobs.get(cid))
    // a malicious server: answers every CID with other bytes
    const lies = new Uint8Array(randomBytes(1024))
    await serveContent(liar, async () => lies)
    // a broken server: announces 1000 bytes, then sends 10 and closes (cid of big) or stalls (any other)
    await broken.handle(PROTOCOL_DATA, async (stream) => {
      const { cid } = await readMessage(stream, dataRequestSchema)
      await writeMessage(stream, { type: 'data-response', ok: true, size: 1000 })
      if (cid !== bigCid) return
      stream.send(new Uint8Array(10))
      await stream.close()
    })
  })

  after(async () => {
    await Promise.all([server?.stop(), liar?.stop(), client?.stop(), broken?.stop()])
  })

  it('fetches 5 MB and verifies it against its CID', async () => {
    const bytes = await fetchContent(client, server.multiaddrs()[0]!, bigCid)
    assert.equal(bytes.byteLength, big.byteLength)
    assert.ok(Buffer.from(bytes).equals(Buffer.from(big)))
  })

  it('fetches an empty blob', async () => {
    const empty = new Uint8Array(0)
    const cid = await cidOf(empty)
    blobs.set(cid, empty)
    assert.equal((await fetchContent(client, server.peerId, cid)).byteLength, 0)
  })

  it('refuses bytes that do not match the CID', async () => {
    await assert.rejects(fetchContent(client, liar.multiaddrs()[0]!, bigCid), (err: BaseError) => {
      assert.equal(err.name, 'CidMismatchError')
      assert.equal(err.code, ErrorCode.CidMismatch)
      return true
    })
  })

  it('reports an unknown CID as not found', async () => {
    const unknown = await cidOf(new TextEncoder().encode('nobody has this'))
    await assert.rejects(fetchContent(client, server.peerId, unknown), (err: BaseError) => {
      assert.equal(err.name, 'ContentNotFoundError')
      assert.equal(err.code, ErrorCode.NotFound)
      return true
    })
  })

  it('refuses a size above maxBytes before reading it, and the server keeps serving', async () => {
    await assert.rejects(
      fetchContent(client, server.peerId, bigCid, { maxBytes: 1024 * 1024 }),
      (err: BaseError) => {
        assert.equal(err.name, 'ContentTooLargeError')
        assert.deepEqual(err.details, { cid: bigCid, size: big.byteLength, maxBytes: 1024 * 1024 })
        return true
      },
    )
    assert.equal((await fetchContent(client, server.peerId, bigCid)).byteLength, big.byteLength)
  })

  it('rejects a malformed CID locally', async () => {
    await assert.rejects(fetchContent(client, server.peerId, 'not-a-cid'), (err: Error) => {
      assert.equal(err.name, 'InvalidMessageError')
      return true
    })
  })

  it('fails on a truncated transfer instead of waiting, as a cut transfer (worth another try)', async () => {
    await assert.rejects(fetchContent(client, broken.multiaddrs()[0]!, bigCid), (err: BaseError) => {
      assert.equal(err.name, 'PeerResetError')
      assert.match(err.message, /ended.*cut short/)
      return true
    })
  })

  it('times out on a server that stalls mid-transfer', async () => {
    const other = await cidOf(new Uint8Array(1))
    await assert.rejects(fetchContent(client, broken.peerId, other, { timeoutMs: 500 }), (err: BaseError) => {
      assert.equal(err.name, 'PeerTimeoutError')
      return true
    })
  })
})
