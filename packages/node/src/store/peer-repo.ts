import type { DatabaseSync, StatementSync } from 'node:sqlite'

/** Peers this node dialed for work (requesters it bid to), so a restarted node can reach them. */
export class PeerRepo {
  readonly #upsert: StatementSync
  readonly #get: StatementSync

  constructor(db: DatabaseSync) {
    this.#upsert = db.prepare(`
      INSERT INTO peers (peer_id, multiaddrs, last_seen) VALUES (?, ?, ?)
      ON CONFLICT (peer_id) DO UPDATE SET multiaddrs = excluded.multiaddrs, last_seen = excluded.last_seen`)
    this.#get = db.prepare('SELECT multiaddrs FROM peers WHERE peer_id = ?')
  }

  remember(peerId: string, multiaddrs: readonly string[]): void {
    this.#upsert.run(peerId, JSON.stringify(multiaddrs), Date.now())
  }

  multiaddrsOf(peerId: string): string[] {
    const row = this.#get.get(peerId) as { multiaddrs: string } | undefined
    return row ? (JSON.parse(row.multiaddrs) as string[]) : []
  }
}
