import {
  decodeMessage,
  encodeMessage,
  InvalidMessageError,
  MAX_CONTROL_MESSAGE_BYTES,
} from '@bazaar/protocol'
import { type Message, type SubscriptionChangeData, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { z } from 'zod'
import type { BazaarHost } from './create-host.ts'
import { deadline } from './deadline.ts'
import { toAbortError } from './errors.ts'

export const DEFAULT_SUBSCRIBER_WAIT_MS = 10_000

export interface TopicGossipInit<T> {
  topic: string
  schema: z.ZodType<T>
  /** Names the message kind in errors and logs, e.g. "job announcement". */
  what: string
  /**
   * The peer id the message claims as its origin; it must be the signed sender. A list: the
   * peers that may publish it (one of them must be the signed sender).
   */
  originOf: (message: T) => string | readonly string[]
  /** Called once per valid message; `fromPeer` is the signed origin of the gossip message. */
  onMessage: (message: T, fromPeer: PeerId) => void | Promise<void>
  /** Called when a peer starts subscribing to the topic (e.g. to send it current state). */
  onSubscriber?: (peer: PeerId) => void
  /**
   * Checks a schema-valid message further (e.g. its signature), inside the validator so nothing
   * unchecked is delivered or forwarded: 'reject' counts against the sender when it is the
   * message's origin (relays that do not verify are not blamed), 'ignore' drops it quietly
   * (e.g. another market's offer).
   */
  verify?: (message: T) => GossipVerdict | Promise<GossipVerdict>
  /** Called for every message the validator rejects, with the peer that sent it to us (peer scoring). */
  onInvalid?: (from: PeerId, err: Error) => void
  /** Messages from these peers are ignored unread (peers banned for misbehaviour). */
  isBanned?: (peer: PeerId) => boolean
  logger?: Logger
}

export type GossipVerdict = 'accept' | 'ignore' | 'reject'

export interface TopicGossipStats {
  /** Valid messages delivered to onMessage. */
  received: number
  /** Messages rejected by validation (the sender's gossipsub score is penalized). */
  invalid: number
  /** Messages dropped without penalty: not ours to judge, or from a banned peer. */
  ignored: number
}

export interface TopicGossip<T> {
  /** Validates and publishes; returns how many peers it was sent to directly. */
  publish(message: T): Promise<{ recipients: number }>
  /** Resolves once at least `min` connected peers subscribe to the topic. */
  waitForSubscribers(min: number, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>
  /** Connected peers subscribed to the topic. */
  subscribers(): PeerId[]
  readonly stats: Readonly<TopicGossipStats>
  /** Unsubscribes and removes the validator. */
  stop(): void
}

/**
 * One gossipsub topic of validated messages. Every inbound message is size-capped and
 * validated with the topic's schema inside gossipsub's topic validator, and the origin it
 * claims must be its signed sender (so nobody can speak for, or point traffic at, a third
 * peer). Invalid messages are rejected (not delivered, not forwarded, and the propagating
 * peer is penalized by gossipsub scoring), counted and logged at debug.
 */
export function createTopicGossip<T>(host: BazaarHost, init: TopicGossipInit<T>): TopicGossip<T> {
  const { topic, schema, what } = init
  const pubsub = host.services.pubsub
  const log = (init.logger ?? host.logger).child({ topic })
  const stats: TopicGossipStats = { received: 0, invalid: 0, ignored: 0 }
  const validated = new WeakMap<Message, T>()
  const originsOf = (message: T): readonly string[] => {
    const origin = init.originOf(message)
    return typeof origin === 'string' ? [origin] : origin
  }

  const validate = (message: Message): T => {
    if (message.type !== 'signed') throw new InvalidMessageError(`${what}: unsigned message`)
    if (message.data.byteLength > MAX_CONTROL_MESSAGE_BYTES) {
      throw new InvalidMessageError(`${what}: ${message.data.byteLength} bytes exceeds the cap`)
    }
    const decoded = decodeMessage(schema, message.data, what)
    if (!originsOf(decoded).includes(message.from.toString())) {
      throw new InvalidMessageError(`${what}: claimed origin is not the publishing peer`)
    }
    return decoded
  }

  const reject = (from: PeerId, err: unknown): TopicValidatorResult => {
    stats.invalid++
    const error = err instanceof Error ? err : new Error(String(err))
    log.debug({ from: from.toString(), err: error.message }, `rejected invalid ${what}`)
    try {
      init.onInvalid?.(from, error)
    } catch (hookErr) {
      log.error({ err: String(hookErr) }, 'onInvalid hook threw')
    }
    return TopicValidatorResult.Reject
  }

  pubsub.topicValidators.set(topic, async (propagationSource, message) => {
    if (init.isBanned?.(propagationSource) || (message.type === 'signed' && init.isBanned?.(message.from))) {
      stats.ignored++
      return TopicValidatorResult.Ignore
    }
    let decoded: T
    try {
      decoded = validate(message)
    } catch (err) {
      return reject(propagationSource, err)
    }
    let verdict: GossipVerdict = 'accept'
    try {
      verdict = init.verify ? await init.verify(decoded) : 'accept'
    } catch (err) {
      return reject(propagationSource, err)
    }
    // Nodes that do not use a topic's messages may relay them after the schema check alone, so
    // a forgery that fails verification is blamed on its origin only when the origin sent it
    // to us itself; relayed, it is dropped (not delivered, not forwarded) without penalty.
    if (verdict === 'reject' && message.type === 'signed' && propagationSource.equals(message.from))
      return reject(propagationSource, new InvalidMessageError(`${what}: failed verification`))
    if (verdict !== 'accept') {
      stats.ignored++
      return TopicValidatorResult.Ignore
    }
    validated.set(message, decoded)
    return TopicValidatorResult.Accept
  })

  const onMessage = (evt: CustomEvent<Message>): void => {
    const message = evt.detail
    if (message.topic !== topic || message.type !== 'signed') return
    // Only what our validator accepted is delivered (gossipsub runs it before this event).
    const decoded = validated.get(message)
    if (decoded === undefined) return
    validated.delete(message)
    stats.received++
    const from = message.from
    Promise.resolve()
      .then(() => init.onMessage(decoded, from))
      .catch((err: unknown) => {
        log.error({ err: String(err) }, `${what} handler failed`)
      })
  }
  pubsub.addEventListener('message', onMessage)
  const onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (!init.onSubscriber) return
    for (const subscription of evt.detail.subscriptions) {
      if (subscription.topic === topic && subscription.subscribe) init.onSubscriber(evt.detail.peerId)
    }
  }
  pubsub.addEventListener('subscription-change', onSubscriptionChange)
  pubsub.subscribe(topic)

  return {
    async publish(message) {
      const parsed = schema.safeParse(message)
      if (!parsed.success) {
        throw new InvalidMessageError(`${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
      }
      if (!originsOf(message).includes(host.peerId.toString())) {
        throw new InvalidMessageError(`${what}: its origin must be this node`, {
          details: { origin: init.originOf(message), self: host.peerId.toString() },
        })
      }
      const data = encodeMessage(parsed.data as object)
      if (data.byteLength > MAX_CONTROL_MESSAGE_BYTES) {
        throw new InvalidMessageError(`${what}: ${data.byteLength} bytes exceeds the cap`)
      }
      const result = await pubsub.publish(topic, data)
      log.debug({ recipients: result.recipients.length }, `published ${what}`)
      return { recipients: result.recipients.length }
    },

    async waitForSubscribers(min, options = {}) {
      const signal = deadline(options.signal, options.timeoutMs ?? DEFAULT_SUBSCRIBER_WAIT_MS)
      const enough = () => pubsub.getSubscribers(topic).length >= min
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
          reject(toAbortError(signal.reason, `waiting for ${min} subscribers to ${topic}`))
        }
        pubsub.addEventListener('subscription-change', check)
        signal.addEventListener('abort', onAbort, { once: true })
        check()
      })
    },

    subscribers: () => pubsub.getSubscribers(topic),
    stats,

    stop() {
      pubsub.removeEventListener('message', onMessage)
      pubsub.removeEventListener('subscription-change', onSubscriptionChange)
      pubsub.topicValidators.delete(topic)
      try {
        pubsub.unsubscribe(topic)
      } catch (err) {
        log.debug({ err: String(err) }, 'unsubscribe failed (host stopped?)')
      }
    },
  }
}
