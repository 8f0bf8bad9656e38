import { errnoCode } from "@shop/fsio"
import { Effect } from "effect"
import { type BrokerError, BrokerUnavailable, isBrokerError, RecordRejected, TopicNotFound } from "../BrokerError.ts"

/** Kafka error codes that mean "this request is wrong", not "try again later". */
const REJECTED = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_TIMESTAMP",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TOPIC_EXCEPTION",
  "INVALID_PARTITIONS",
  "INVALID_REPLICATION_FACTOR",
  "INVALID_CONFIG",
  "POLICY_VIOLATION",
  "INVALID_REQUEST",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
])

interface KafkaJsError {
  readonly name?: string
  readonly type?: string
  readonly message?: string
  readonly originalError?: unknown
  readonly cause?: unknown
}

/** The innermost protocol error kafkajs wrapped in its retry errors (KafkaJSNumberOfRetriesExceeded, ...). */
const innermost = (e: unknown): KafkaJsError => {
  let current = e as KafkaJsError
  for (let i = 0; i < 5 && current !== null && typeof current === "object"; i++) {
    const next = (current.originalError ?? current.cause) as KafkaJsError | undefined
    if (next === undefined || next === null || typeof next !== "object") break
    current = next
  }
  return current ?? {}
}

/**
 * A failure of the broker rather than of our code: kafkajs' own errors (KafkaJSConnectionError,
 * KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded...) and errno failures (ECONNREFUSED, ETIMEDOUT).
 */
export const isKafkaFailure = (cause: unknown): boolean => {
  const name = (cause as KafkaJsError | null)?.name
  return (
    isBrokerError(cause) || (typeof name === "string" && name.startsWith("KafkaJS")) || errnoCode(cause) !== undefined
  )
}

/** A kafkajs failure as the Broker's typed error. `what` says what we were doing, for the message. */
export const toBrokerError = (what: string, cause: unknown, topic?: string): BrokerError => {
  if (isBrokerError(cause)) return cause
  const inner = innermost(cause)
  const type = inner.type ?? (cause as KafkaJsError)?.type
  const detail = inner.message ?? (cause instanceof Error ? cause.message : String(cause))
  if ((type === "UNKNOWN_TOPIC_OR_PARTITION" || type === "UNKNOWN_TOPIC_ID") && topic !== undefined) {
    return new TopicNotFound({ topic })
  }
  if (type !== undefined && REJECTED.has(type)) return new RecordRejected({ message: `${what}: ${detail} (${type})` })
  return new BrokerUnavailable({ message: `${what}: ${detail}`, cause })
}

/** A kafkajs failure as a typed error; anything else thrown (a TypeError: a bug) stays a defect. */
export const kafkaFailure = (what: string, cause: unknown, topic?: string): Effect.Effect<never, BrokerError> =>
  isKafkaFailure(cause) ? Effect.fail(toBrokerError(what, cause, topic)) : Effect.die(cause)

/** A kafkajs call as an Effect, its failures classified by `kafkaFailure`. */
export const callKafka = <A>(what: string, f: () => Promise<A>, topic?: string): Effect.Effect<A, BrokerError> =>
  Effect.tryPromise({ try: f, catch: (cause) => cause }).pipe(Effect.catch((cause) => kafkaFailure(what, cause, topic)))
