import { describeError } from '@bazaar/protocol'

export interface EventScanInit<E> {
  /** The latest block (where the first scan starts, and where each scan ends). */
  blockNumber(): Promise<bigint>
  /** The events of interest from `fromBlock` to the latest block. */
  fetch(fromBlock: bigint): Promise<E[]>
  /** Called once per event found (repeats across scans are the caller's to skip). */
  handle(event: E): void
  logger: { warn(obj: object, msg: string): void }
  /** What is scanned, for logs (e.g. "referee duties"). */
  what: string
  pollMs?: number
}

/**
 * The loop the provider's court duties share (referee duty, optimistic watcher): every
 * `pollMs` it reads the chain's events since the block after the last scan (never two scans at
 * once) and hands each to `handle`; work started from there runs in the background through
 * `run`, tracked so that `stop` aborts it and waits for it.
 */
export class EventScan<E> {
  readonly #init: EventScanInit<E>
  readonly #work = new Set<Promise<void>>()
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #nextBlock = 0n
  #scanning = false

  constructor(init: EventScanInit<E>) {
    this.#init = init
  }

  /** Aborted when the loop stops: pass it to long work (re-execution). */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  /** Background work in progress. */
  get active(): number {
    return this.#work.size
  }

  async start(): Promise<void> {
    this.#nextBlock = await this.#init.blockNumber()
    this.#timer = setInterval(() => void this.#scan(), this.#init.pollMs ?? 500)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#abort.abort()
    await Promise.allSettled([...this.#work])
  }

  /** Runs `work` in the background; a failure is logged with `context`, never thrown. */
  run(context: Record<string, unknown>, failure: string, work: () => Promise<void>): void {
    const running = work().catch((err: unknown) => {
      this.#init.logger.warn({ ...context, err: describeError(err) }, failure)
    })
    this.#work.add(running)
    void running.finally(() => this.#work.delete(running))
  }

  async #scan(): Promise<void> {
    if (this.#scanning || this.#abort.signal.aborted) return
    this.#scanning = true
    try {
      const latest = await this.#init.blockNumber()
      const events = await this.#init.fetch(this.#nextBlock)
      this.#nextBlock = latest + 1n
      for (const event of events) this.#init.handle(event)
    } catch (err) {
      this.#init.logger.warn({ err: describeError(err) }, `could not scan for ${this.#init.what}`)
    } finally {
      this.#scanning = false
    }
  }
}
