import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CidMismatchError } from '@bazaar/protocol'
import { retryUntil } from './retry-until.ts'

/** An error shaped like the network layer's (only its name matters to the retry). */
function netError(name: string): Error {
  const err = new Error(name)
  err.name = name
  return err
}

describe('retryUntil (fetching a revealed result, or a job input)', () => {
  it('tries again through any transport failure until the provider answers', async () => {
    const failures = [netError('PeerResetError'), netError('AggregateError'), netError('PeerTimeoutError')]
    const retries: number[] = []
    let calls = 0
    const bytes = await retryUntil(
      async () => {
        calls++
        const next = failures.shift()
        if (next) throw next
        return 'bytes'
      },
      { untilMs: Date.now() + 60_000, pausesMs: [1, 2], onRetry: (_e, attempt) => retries.push(attempt) },
    )
    assert.equal(bytes, 'bytes')
    assert.equal(calls, 4)
    assert.deepEqual(retries, [1, 2, 3])
  })

  it('never retries a wrong answer: a CID mismatch is thrown at once', async () => {
    let calls = 0
    await assert.rejects(
      retryUntil(
        async () => {
          calls++
          throw new CidMismatchError('bafy-expected', 'bafy-actual')
        },
        { untilMs: Date.now() + 60_000, pausesMs: [1] },
      ),
      CidMismatchError,
    )
    assert.equal(calls, 1)
  })

  it('gives up with the last error once the deadline is reached', async () => {
    let calls = 0
    const until = Date.now() + 40
    await assert.rejects(
      retryUntil(
        async () => {
          calls++
          throw netError('PeerResetError')
        },
        { untilMs: until, pausesMs: [10] },
      ),
      /PeerResetError/,
    )
    assert.ok(calls >= 2, `tried ${calls} times`)
    assert.ok(Date.now() < until + 1_000)
  })

  it('stops when its signal aborts', async () => {
    const controller = new AbortController()
    const run = retryUntil(
      async () => {
        throw netError('PeerResetError')
      },
      { untilMs: Date.now() + 60_000, pausesMs: [60_000], signal: controller.signal },
    )
    controller.abort(new Error('stopping'))
    await assert.rejects(run, /stopping/)
  })
})
