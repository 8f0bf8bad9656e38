import { errnoCode } from "@shop/fsio"
import { Effect, Schema } from "effect"

/** A topic that does not exist was named. */
export class TopicNotFound extends Schema.TaggedError<TopicNotFound>()("TopicNotFound", {
  topic: Schema.String,
}) {
  override get message() {
    return `topic ${this.topic} does not exist`
  }
}

/** A partition outside the topic's range was named. */
export class PartitionNotFound extends Schema.TaggedError<PartitionNotFound>()("PartitionNotFound", {
  topic: Schema.String,
  partition: Schema.Number,
}) {
  override get message() {
    return `topic ${this.topic} has no partition ${this.partition}`
  }
}

/** The log could not be read or written (disk full, permissions, corrupt beyond recovery). */
export class BrokerStorageError extends Schema.TaggedError<BrokerStorageError>()("BrokerStorageError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
}) {}

/**
 * How long a long-running client (the stream processor, its Kafka consumer) waits for an unreachable broker
 * before it gives up with BrokerUnavailable: a broker restart on a loaded machine takes well under a minute.
 */
export const BROKER_OUTAGE_LIMIT_MS = 5 * 60_000

/** The broker is unreachable or refused the request (Kafka layer), after retries. */
export class BrokerUnavailable extends Schema.TaggedError<BrokerUnavailable>()("BrokerUnavailable", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
}) {}

/** Another member already holds this consumer group where the broker allows only one (embedded layer). */
export class GroupBusy extends Schema.TaggedError<GroupBusy>()("GroupBusy", {
  groupId: Schema.String,
  message: Schema.String,
}) {}

/** A record over the broker's size limit, or a request the broker refuses. */
export class RecordRejected extends Schema.TaggedError<RecordRejected>()("RecordRejected", {
  message: Schema.String,
}) {}

export type BrokerError =
  | TopicNotFound
  | PartitionNotFound
  | BrokerStorageError
  | BrokerUnavailable
  | GroupBusy
  | RecordRejected

export const isBrokerError = (e: unknown): e is BrokerError =>
  e instanceof TopicNotFound ||
  e instanceof PartitionNotFound ||
  e instanceof BrokerStorageError ||
  e instanceof BrokerUnavailable ||
  e instanceof GroupBusy ||
  e instanceof RecordRejected

/**
 * What a thrown failure of the embedded broker's file work is: a BrokerError stays itself, an errno failure of
 * the system (ENOSPC, EIO, EACCES, a FsWriteError...) is a typed BrokerStorageError the caller can act on;
 * anything else (a TypeError, a RangeError) is a bug, which no caller can handle: it stays a defect.
 */
export const storageFailure = (what: string, cause: unknown): Effect.Effect<never, BrokerError> =>
  isBrokerError(cause)
    ? Effect.fail(cause)
    : errnoCode(cause) !== undefined
      ? Effect.fail(
          new BrokerStorageError({
            message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
            cause,
          }),
        )
      : Effect.die(cause)

/** Synchronous file work as an Effect, its failures classified by `storageFailure`. */
export const attemptStorage = <A>(what: string, f: () => A): Effect.Effect<A, BrokerError> =>
  Effect.try({ try: f, catch: (cause) => cause }).pipe(Effect.catch((cause) => storageFailure(what, cause)))
