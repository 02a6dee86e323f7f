import { NetConfigError } from './errors.ts'

/**
 * Per-peer misbehaviour score. Every malformed or forged message a peer sends (garbage on a
 * request stream, an invalid data request, a gossip message our validator rejects) is
 * reported here; a peer with `threshold` reports within `windowMs` is banned for
 * `coolDownMs`: the node hangs up on it, refuses its connections and ignores its streams and
 * gossip until the ban ends. Honest peers never send such messages (they validate before
 * sending, and gossipsub validates before forwarding), so a low threshold costs them nothing.
 * Pure bookkeeping: the clock is injected, the caller does the disconnecting.
 */

export interface PeerPenaltiesInit {
  /** Bad messages within the window that get a peer banned; default 5. */
  threshold?: number
  /** Window over which bad messages add up, ms; default 60 000. */
  windowMs?: number
  /** How long a ban lasts, ms; default 600 000 (10 minutes). */
  coolDownMs?: number
  /** Peers tracked at most (the least recently reported are forgotten first); default 10 000. */
  maxTracked?: number
  /** Clock in ms; default Date.now. */
  now?: () => number
}

/** Where the bad message came in: counted per kind for metrics. */
export type MisbehaviourKind = 'bid-stream' | 'award-stream' | 'request-stream' | 'data-stream' | 'gossip'

export interface BanInfo {
  peer: string
  until: number
  /** The report that tipped it over. */
  kind: MisbehaviourKind
  reason: string
}

export interface PeerPenaltiesStats {
  /** Bad messages reported, by kind (messages from already banned peers included). */
  reports: Record<MisbehaviourKind, number>
  /** Bans imposed since start. */
  bans: number
  /** Peers banned right now. */
  banned: number
}

/** App-specific gossipsub score of a banned peer (gossipsub multiplies it by its weight, 10). */
export const BANNED_APP_SCORE = -100

export class PeerPenalties {
  private readonly threshold: number
  private readonly windowMs: number
  private readonly coolDownMs: number
  private readonly maxTracked: number
  private readonly now: () => number
  /** Report times per peer, oldest first; refreshed on each report (Map order = recency). */
  private readonly recent = new Map<string, number[]>()
  private readonly bannedUntil = new Map<string, number>()
  private readonly listeners: ((ban: BanInfo) => void)[] = []
  private readonly reports: Record<MisbehaviourKind, number> = {
    'bid-stream': 0,
    'award-stream': 0,
    'request-stream': 0,
    'data-stream': 0,
    gossip: 0,
  }
  private bans = 0

  constructor(init: PeerPenaltiesInit = {}) {
    this.threshold = positiveInt(init.threshold ?? 5, 'threshold')
    this.windowMs = positiveInt(init.windowMs ?? 60_000, 'windowMs')
    this.coolDownMs = positiveInt(init.coolDownMs ?? 600_000, 'coolDownMs')
    this.maxTracked = positiveInt(init.maxTracked ?? 10_000, 'maxTracked')
    this.now = init.now ?? Date.now
  }

  /** Called once per new ban (e.g. to hang up on the peer). */
  onBan(listener: (ban: BanInfo) => void): void {
    this.listeners.push(listener)
  }

  /** Records a bad message from `peer`; returns true when this report banned it. */
  report(peer: string, kind: MisbehaviourKind, reason = ''): boolean {
    this.reports[kind]++
    const now = this.now()
    if (this.isBanned(peer, now)) return false
    const times = (this.recent.get(peer) ?? []).filter((t) => t > now - this.windowMs)
    times.push(now)
    this.recent.delete(peer)
    if (times.length < this.threshold) {
      this.recent.set(peer, times)
      while (this.recent.size > this.maxTracked) this.recent.delete(this.recent.keys().next().value!)
      return false
    }
    const until = now + this.coolDownMs
    this.bannedUntil.set(peer, until)
    this.bans++
    this.pruneBans(now)
    const ban: BanInfo = { peer, until, kind, reason }
    for (const listener of this.listeners) listener(ban)
    return true
  }

  /** True while `peer` serves a ban. */
  isBanned(peer: string, now = this.now()): boolean {
    const until = this.bannedUntil.get(peer)
    if (until === undefined) return false
    if (until > now) return true
    this.bannedUntil.delete(peer)
    return false
  }

  /**
   * The peer's app-specific score for gossipsub: 0 when clean, −1 per bad message in the
   * window, BANNED_APP_SCORE while banned. With gossipsub's default weight (10) and thresholds
   * a peer stops getting our gossip after 1 bad message, our publishes after 5, and is
   * graylisted (its gossip ignored) while banned.
   */
  appScore(peer: string): number {
    const now = this.now()
    if (this.isBanned(peer, now)) return BANNED_APP_SCORE
    const times = this.recent.get(peer)
    if (times === undefined) return 0
    return -times.filter((t) => t > now - this.windowMs).length
  }

  get stats(): PeerPenaltiesStats {
    this.pruneBans(this.now())
    return { reports: { ...this.reports }, bans: this.bans, banned: this.bannedUntil.size }
  }

  private pruneBans(now: number): void {
    for (const [peer, until] of this.bannedUntil) if (until <= now) this.bannedUntil.delete(peer)
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new NetConfigError(name, `must be a positive integer, got ${value}`)
  return value
}
