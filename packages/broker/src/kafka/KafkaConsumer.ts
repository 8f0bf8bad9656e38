import { Effect, Schedule, type Scope } from "effect"
import type { Kafka } from "kafkajs"
import type { ConsumedRecord, Consumer, ConsumerOptions, PartitionOffset } from "../Broker.ts"
import {
  BROKER_OUTAGE_LIMIT_MS,
  type BrokerError,
  BrokerUnavailable,
  GroupBusy,
  PartitionNotFound,
} from "../BrokerError.ts"
import { callKafka, kafkaFailure, toBrokerError } from "./kafkaErrors.ts"
import { PollBridge } from "./PollBridge.ts"
import { staticAssigner } from "./staticAssigner.ts"

export interface KafkaConsumerSettings {
  /** How long joining the group may take before the consumer fails (ms). */
  readonly joinTimeoutMs: number
  /** Records fetched ahead of `poll`; kafkajs stops fetching while this many wait. */
  readonly bufferRecords: number
}

const EMPTY = new Uint8Array(0)
const keyOf = (topic: string, partition: number) => `${topic}/${partition}`
const splitKey = (key: string) => {
  const at = key.lastIndexOf("/")
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) }
}

/**
 * A poll-based member of a Kafka consumer group over kafkajs' push-based runner (see PollBridge). Offsets are
 * committed only by `commit` (autoCommit off). With `partitions`, the member asks the group's assigner for
 * exactly those partitions (staticAssigner) instead of taking what a rebalance gives it.
 */
export const makeKafkaConsumer = (
  kafka: Kafka,
  opts: ConsumerOptions,
  settings: KafkaConsumerSettings,
): Effect.Effect<Consumer, BrokerError, Scope.Scope> =>
  Effect.gen(function* () {
    const groupId = opts.groupId
    const claims = opts.partitions === undefined ? undefined : { [opts.topics[0]!]: [...opts.partitions] }
    const bridge = yield* PollBridge.make(settings.bufferRecords)
    let assigned: Array<{ topic: string; partition: number }> = []
    let failure: BrokerError | undefined
    let closing = false
    let joined: (() => void) | undefined
    let hasJoined = false

    const consumer = kafka.consumer({
      groupId,
      partitionAssigners: [
        staticAssigner(claims, () => {
          const held: Record<string, Array<number>> = {}
          for (const a of assigned) held[a.topic] = [...(held[a.topic] ?? []), a.partition]
          return held
        }),
      ],
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      // How long a fetch waits at the broker when nothing is new: bounds the delay of a seek.
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    })

    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const next = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      )
      const keep = new Set(next.map((a) => keyOf(a.topic, a.partition)))
      bridge.discard((topic, partition) => !keep.has(keyOf(topic, partition)))
      for (const key of [...bridge.expected.keys()]) {
        if (!keep.has(key)) bridge.expected.delete(key)
      }
      // Partitions we keep continue where we were, not from the last commit (a rejoin or a restart of the
      // kafkajs runner would otherwise replay what poll already returned).
      for (const [key, offset] of bridge.expected) {
        consumer.seek({ ...splitKey(key), offset: String(offset) })
      }
      assigned = next
      hasJoined = true
      restarts = 0
      awaySince = undefined
      joined?.()
    })
    // kafkajs gives up on a consumer for good (CRASH, restart false) when it finds no group coordinator because
    // no broker answers, e.g. during a broker restart (seen in the kafka step: "Crash: KafkaJSNonRetriableError:
    // Failed to find group coordinator", after which the processor read nothing more). Such a crash is a broker
    // that is away, not a wrong request: the consumer is started again (GROUP_JOIN then re-seeks every kept
    // partition to where poll left it), a line each time, 2 s apart, for as long as the stream processor waits for
    // its other broker calls (BROKER_OUTAGE_LIMIT_MS, 5 min) between joins.
    const UNREACHABLE = new Set([
      "KafkaJSGroupCoordinatorNotFound",
      "KafkaJSConnectionError",
      "KafkaJSConnectionClosedError",
      "KafkaJSBrokerNotFound",
    ])
    let restarts = 0
    let awaySince: number | undefined
    const fail = (e: unknown) => {
      failure = toBrokerError(`consumer of group ${groupId}`, e, opts.topics[0])
      bridge.fail(failure)
      joined?.()
    }
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || closing) return
      const error = event.payload.error as { name?: string; message?: string }
      awaySince ??= Date.now()
      if (hasJoined && UNREACHABLE.has(error.name ?? "") && Date.now() - awaySince < BROKER_OUTAGE_LIMIT_MS) {
        restarts++
        process.stderr.write(
          `[kafka] consumer group ${groupId}: ${error.message ?? error.name} (no broker answers); starting the consumer again in 2 s, attempt ${restarts} (gives up ${Math.round(BROKER_OUTAGE_LIMIT_MS / 60_000)} min after the broker went away)\n`,
        )
        setTimeout(() => {
          if (!closing) start().catch(fail)
        }, 2_000)
        return
      }
      fail(event.payload.error)
    })

    const start = async () => {
      await consumer.connect()
      await consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          // A seek since this batch was fetched makes it stale: the seek's position wins.
          if (!isRunning() || closing || isStale()) return
          const records: Array<ConsumedRecord> = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: Number(m.offset),
            key: m.key === null || m.key === undefined ? null : m.key.toString("utf8"),
            value: m.value ?? EMPTY,
            timestamp: Number(m.timestamp),
          }))
          // Waits while the bridge is full: kafkajs fetches no more meanwhile.
          await bridge.offer(batch.topic, batch.partition, records, heartbeat)
          // Moves kafkajs' fetch position only; the group's committed offset moves with `commit`.
          resolveOffset(batch.lastOffset())
        },
      })
    }

    yield* Effect.acquireRelease(callKafka(`join consumer group ${groupId}`, start, opts.topics[0]), () =>
      Effect.promise(async () => {
        closing = true
        bridge.close()
        await consumer.disconnect().catch(() => undefined)
      }),
    )

    // The first assignment: callers ask for `assignment` right away (to resume from the lake).
    if (!hasJoined && failure === undefined) {
      yield* Effect.callback<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), settings.joinTimeoutMs)
        joined = () => {
          clearTimeout(timer)
          joined = undefined
          resume(Effect.void)
        }
        return Effect.sync(() => {
          clearTimeout(timer)
          joined = undefined
        })
      })
    }
    if (failure !== undefined) return yield* failure
    if (!hasJoined) {
      return yield* new BrokerUnavailable({
        message: `consumer group ${groupId} was not joined within ${settings.joinTimeoutMs} ms`,
      })
    }
    if (claims === undefined && assigned.length === 0) {
      // Legitimate when other members hold every partition; never silent (the leader retries missing metadata).
      process.stderr.write(
        `[kafka] consumer group ${groupId}: joined with no partitions of ${opts.topics.join(",")} (other members hold them all)\n`,
      )
    }
    if (claims !== undefined) {
      const topic = opts.topics[0]!
      const missing = claims[topic]!.filter((p) => !assigned.some((a) => a.topic === topic && a.partition === p))
      if (missing.length > 0) {
        return yield* new GroupBusy({
          groupId,
          message: `consumer group ${groupId}: partitions ${missing.join(",")} of ${topic} are held by another member (or the group was not joined within ${settings.joinTimeoutMs} ms)`,
        })
      }
    }

    const poll = (o: { readonly maxRecords: number; readonly maxWaitMs: number }) =>
      Effect.suspend(() => (failure !== undefined ? Effect.fail(failure) : bridge.take(o.maxRecords, o.maxWaitMs)))

    const seek = (p: PartitionOffset) =>
      Effect.suspend(() => {
        if (!assigned.some((a) => a.topic === p.topic && a.partition === p.partition)) {
          return Effect.fail(new PartitionNotFound({ topic: p.topic, partition: p.partition }))
        }
        bridge.discard((topic, partition) => topic === p.topic && partition === p.partition)
        bridge.expected.set(keyOf(p.topic, p.partition), p.offset)
        return Effect.try({
          try: () => consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) }),
          catch: (cause) => cause,
        }).pipe(Effect.catch((cause) => kafkaFailure(`seek ${p.topic}/${p.partition}`, cause)))
      })

    const commit = (offsets: ReadonlyArray<PartitionOffset>) =>
      callKafka(
        `commit offsets of group ${groupId}`,
        () =>
          consumer.commitOffsets(
            offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
          ),
        opts.topics[0],
      ).pipe(
        // A commit during a rebalance fails until the member has rejoined; that takes seconds, not minutes.
        Effect.retry({
          while: (e) => e._tag === "BrokerUnavailable" && !closing,
          times: 8,
          schedule: Schedule.exponential("200 millis"),
        }),
      )

    const assignment = Effect.sync(() => assigned.map((a) => ({ ...a })))

    return { assignment, poll, seek, commit } satisfies Consumer
  })
