import { type JobAnnouncement, jobAnnouncementSchema, TOPIC_JOBS } from '@bazaar/protocol'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { BazaarHost } from './create-host.ts'
import { createTopicGossip, type TopicGossip } from './topic-gossip.ts'

export { DEFAULT_SUBSCRIBER_WAIT_MS } from './topic-gossip.ts'

export interface JobGossipInit {
  /** Called once per valid announcement; `fromPeer` is the signed origin of the gossip message. */
  onAnnouncement: (announcement: JobAnnouncement, fromPeer: PeerId) => void | Promise<void>
  /** Called for every announcement the validator rejects (peer scoring). */
  onInvalid?: (from: PeerId, err: Error) => void
  /** Announcements from these peers are ignored unread. */
  isBanned?: (peer: PeerId) => boolean
  logger?: Logger
}

export type JobGossip = TopicGossip<JobAnnouncement>

/**
 * Job announcements over gossipsub (TOPIC_JOBS). The announced `requesterPeerId` must be
 * the message's signed origin, so nobody can point bid traffic at a third peer.
 */
export function createJobGossip(host: BazaarHost, init: JobGossipInit): JobGossip {
  return createTopicGossip(host, {
    topic: TOPIC_JOBS,
    schema: jobAnnouncementSchema,
    what: 'job announcement',
    originOf: (announcement) => announcement.requesterPeerId,
    onMessage: init.onAnnouncement,
    ...(init.onInvalid ? { onInvalid: init.onInvalid } : {}),
    ...(init.isBanned ? { isBanned: init.isBanned } : {}),
    ...(init.logger ? { logger: init.logger } : {}),
  })
}
