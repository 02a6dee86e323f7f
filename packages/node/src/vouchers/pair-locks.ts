/**
 * One async lock per key: `run` calls for a key execute one at a time, in call order. Keeps the
 * check-then-write steps of one (requester, provider) pair (sequence, cumulative) atomic across
 * awaits on the chain and the network.
 */
export class PairLocks {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(key) ?? Promise.resolve()
    const result = tail.then(fn, fn)
    const settled = result.then(
      () => undefined,
      () => undefined,
    )
    this.tails.set(key, settled)
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key)
    })
    return result
  }
}
