import {
  decodeMessage,
  encodeMessage,
  InvalidMessageError,
  type JobAnnouncement,
  jobAnnouncementSchema,
  MAX_CONTROL_MESSAGE_BYTES,
  TOPIC_JOBS,
} from '@bazaar/protocol'
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { BazaarHost } from './create-host.ts'
import { deadline } from './deadline.ts'
import { toAbortError } from './errors.ts'

export const DEFAULT_SUBSCRIBER_WAIT_MS = 10_000

export interface JobGossipInit {
  /** Called once per valid announcement; `fromPeer` is the signed origin of the gossip message. */
  onAnnouncement: (announcement: JobAnnouncement, fromPeer: PeerId) => void | Promise<void>
  logger?: Logger
}

export interface JobGossipStats {
  /** Valid announcements delivered to onAnnouncement. */
  received: number
  /** Messages rejected by validation (the sender's gossipsub score is penalized). */
  invalid: number
}

export interface JobGossip {
  /** Validates and publishes; returns how many peers it was sent to directly. */
  publish(announcement: JobAnnouncement): Promise<{ recipients: number }>
  /** Resolves once at least `min` connected peers subscribe to the jobs topic. */
  waitForSubscribers(min: number, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>
  /** Connected peers subscribed to the jobs topic. */
  subscribers(): PeerId[]
  readonly stats: Readonly<JobGossipStats>
  /** Unsubscribes and removes the validator. */
  stop(): void
}

/**
 * Job announcements over gossipsub (TOPIC_JOBS). Every inbound message is size-capped and
 * validated with jobAnnouncementSchema inside gossipsub's topic validator; the announced
 * `requesterPeerId` must be the message's signed origin (so nobody can point bid traffic
 * at a third peer). Invalid messages are rejected (not delivered, not forwarded, and the
 * propagating peer is penalized by gossipsub scoring), counted and logged at debug.
 */
export function createJobGossip(host: BazaarHost, init: JobGossipInit): JobGossip {
  const pubsub = host.services.pubsub
  const log = (init.logger ?? host.logger).child({ topic: TOPIC_JOBS })
  const stats: JobGossipStats = { received: 0, invalid: 0 }
  const validated = new WeakMap<Message, JobAnnouncement>()

  const validate = (message: Message): JobAnnouncement => {
    if (message.type !== 'signed') throw new InvalidMessageError('job announcement: unsigned message')
    if (message.data.byteLength > MAX_CONTROL_MESSAGE_BYTES) {
      throw new InvalidMessageError(`job announcement: ${message.data.byteLength} bytes exceeds the cap`)
    }
    const announcement = decodeMessage(jobAnnouncementSchema, message.data, 'job announcement')
    if (announcement.requesterPeerId !== message.from.toString()) {
      throw new InvalidMessageError('job announcement: requesterPeerId is not the publishing peer')
    }
    return announcement
  }

  pubsub.topicValidators.set(TOPIC_JOBS, (propagationSource, message) => {
    try {
      validated.set(message, validate(message))
      return TopicValidatorResult.Accept
    } catch (err) {
      stats.invalid++
      log.debug(
        { from: propagationSource.toString(), err: err instanceof Error ? err.message : String(err) },
        'rejected invalid job announcement',
      )
      return TopicValidatorResult.Reject
    }
  })

  const onMessage = (evt: CustomEvent<Message>): void => {
    const message = evt.detail
    if (message.topic !== TOPIC_JOBS || message.type !== 'signed') return
    let announcement = validated.get(message)
    if (announcement === undefined) {
      try {
        announcement = validate(message)
      } catch {
        return // the validator already rejected it; gossipsub should not deliver it
      }
    }
    validated.delete(message)
    stats.received++
    const from = message.from
    Promise.resolve()
      .then(() => init.onAnnouncement(announcement, from))
      .catch((err: unknown) => {
        log.error({ err: String(err), jobId: announcement.jobId }, 'onAnnouncement handler failed')
      })
  }
  pubsub.addEventListener('message', onMessage)
  pubsub.subscribe(TOPIC_JOBS)

  return {
    async publish(announcement) {
      const parsed = jobAnnouncementSchema.safeParse(announcement)
      if (!parsed.success) {
        throw new InvalidMessageError(`job announcement: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
      }
      if (announcement.requesterPeerId !== host.peerId.toString()) {
        throw new InvalidMessageError('job announcement: requesterPeerId must be this node', {
          details: { requesterPeerId: announcement.requesterPeerId, self: host.peerId.toString() },
        })
      }
      const data = encodeMessage(parsed.data)
      if (data.byteLength > MAX_CONTROL_MESSAGE_BYTES) {
        throw new InvalidMessageError(`job announcement: ${data.byteLength} bytes exceeds the cap`)
      }
      const result = await pubsub.publish(TOPIC_JOBS, data)
      log.debug({ jobId: announcement.jobId, recipients: result.recipients.length }, 'published job')
      return { recipients: result.recipients.length }
    },

    async waitForSubscribers(min, options = {}) {
      const signal = deadline(options.signal, options.timeoutMs ?? DEFAULT_SUBSCRIBER_WAIT_MS)
      const enough = () => pubsub.getSubscribers(TOPIC_JOBS).length >= min
      if (enough()) return
      await new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          pubsub.removeEventListener('subscription-change', check)
          signal.removeEventListener('abort', onAbort)
        }
        const check = () => {
          if (!enough()) return
          cleanup()
          resolve()
        }
        const onAbort = () => {
          cleanup()
          reject(toAbortError(signal.reason, `waiting for ${min} subscribers to ${TOPIC_JOBS}`))
        }
        pubsub.addEventListener('subscription-change', check)
        signal.addEventListener('abort', onAbort, { once: true })
        check()
      })
    },

    subscribers: () => pubsub.getSubscribers(TOPIC_JOBS),
    stats,

    stop() {
      pubsub.removeEventListener('message', onMessage)
      pubsub.topicValidators.delete(TOPIC_JOBS)
      try {
        pubsub.unsubscribe(TOPIC_JOBS)
      } catch (err) {
        log.debug({ err: String(err) }, 'unsubscribe failed (host stopped?)')
      }
    },
  }
}
