import { Clock, Config, Effect, Layer } from "effect"
import { type Admin, Kafka, type LogEntry, logLevel, type Message, type Producer } from "kafkajs"
import {
  Broker,
  type ConsumerOptions,
  type PartitionOffset,
  type ProducerRecord,
  type RecordPosition,
  type TopicSpec,
} from "../Broker.ts"
import {
  type BrokerError,
  BrokerUnavailable,
  PartitionNotFound,
  RecordRejected,
  TopicNotFound,
} from "../BrokerError.ts"
import { kafkaTopicConfigs, PIPELINE_MAX_RECORD_BYTES } from "../ensureDefaultTopics.ts"
import { placeRecords, roundRobinCounter } from "../placement.ts"
import { makeKafkaConsumer } from "./KafkaConsumer.ts"
import { callKafka } from "./kafkaErrors.ts"

export interface KafkaOptions {
  /** Bootstrap servers, e.g. ["localhost:9092"]. */
  readonly brokers: ReadonlyArray<string>
  readonly clientId?: string
  /**
   * kafkajs retries a failed request this many times with exponential backoff (300 ms doubling, at most 5 s
   * apart) before the call fails with BrokerUnavailable. The default, 10, rides out a broker restart (~35 s).
   */
  readonly retries?: number
  /** Largest record, key plus value (default 2 MiB, as the embedded broker); sets max.message.bytes on created topics. */
  readonly maxRecordBytes?: number
  /** Records a consumer fetches ahead of poll (default 100,000). */
  readonly consumerBufferRecords?: number
  /** How long joining a consumer group may take (default 60 s). */
  readonly joinTimeoutMs?: number
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/
/** Kafka refuses a record batch over the topic's max.message.bytes (1 MiB by default): keep each partition's
 *  share of one request under it, a single bigger record goes alone. */
const MAX_REQUEST_BYTES_PER_PARTITION = 900 * 1024

const LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
}

const NAMES: Record<number, string> = { 1: "ERROR", 2: "WARN", 4: "INFO", 5: "DEBUG" }

/**
 * kafkajs logs as one line each on stderr. Below debug, per-request errors it retries itself are left out and
 * a line repeated within 10 s (a broker that is down, retried) is printed once.
 */
const logCreator = (level: logLevel) => {
  const lastSeen = new Map<string, number>()
  return (entry: LogEntry) => {
    const { message, error } = entry.log as { message: string; error?: string }
    if (entry.level > level) return
    if (level < logLevel.DEBUG && entry.namespace === "Connection" && message.startsWith("Response")) return
    const line = `[kafkajs] ${NAMES[entry.level] ?? entry.level} ${entry.namespace}: ${message}${error ? ` (${error})` : ""}`
    const now = Date.now()
    if (level < logLevel.DEBUG && now - (lastSeen.get(line) ?? 0) < 10_000) return
    if (lastSeen.size > 100) lastSeen.clear()
    lastSeen.set(line, now)
    process.stderr.write(`${line}\n`)
  }
}

const toBuffer = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength)

/** The Broker over Apache Kafka or Redpanda, with kafkajs. Connects its admin client and an idempotent producer. */
export const makeKafkaBroker = (options: KafkaOptions) =>
  Effect.gen(function* () {
    const maxRecordBytes = options.maxRecordBytes ?? PIPELINE_MAX_RECORD_BYTES
    const level = LEVELS[(process.env.KAFKAJS_LOG_LEVEL ?? "error").toLowerCase()] ?? logLevel.ERROR
    const kafka = new Kafka({
      clientId: options.clientId ?? "shop-pulse",
      brokers: [...options.brokers],
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: options.retries ?? 10 },
      logLevel: level,
      logCreator: () => logCreator(level),
    })
    const where = options.brokers.join(",")

    const admin: Admin = kafka.admin()
    // acks=all with an idempotent producer: a retried request cannot write a record twice. kafkajs needs
    // maxInFlightRequests 1 for that, which also keeps the order of the records of one partition.
    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    })
    yield* Effect.acquireRelease(
      callKafka(`connect to Kafka at ${where}`, async () => {
        await admin.connect()
        await producer.connect()
      }),
      () =>
        Effect.promise(async () => {
          await producer.disconnect().catch(() => undefined)
          await admin.disconnect().catch(() => undefined)
        }),
    )

    /**
     * kafkajs' admin gives up at once on NOT_LEADER_FOR_PARTITION / LEADER_NOT_AVAILABLE. A partition whose leader
     * is in the metadata but not serving yet (a topic just created, a broker just restarted: seen as
     * "offsets of t: This server is not the leader for that topic-partition" in the kafka step) answers that for
     * a moment: retried every 100 ms for at most 15 s, with fresh metadata.
     */
    const leaderReady = async <A>(f: () => Promise<A>): Promise<A> => {
      const deadline = Date.now() + 15_000
      for (;;) {
        try {
          return await f()
        } catch (e) {
          const err = e as { type?: string; originalError?: { type?: string } }
          const type = err.type ?? err.originalError?.type
          if ((type !== "NOT_LEADER_FOR_PARTITION" && type !== "LEADER_NOT_AVAILABLE") || Date.now() > deadline) throw e
          await new Promise((resolve) => setTimeout(resolve, 100))
          await admin.fetchTopicMetadata().catch(() => undefined)
        }
      }
    }

    const call = <A>(what: string, f: () => Promise<A>, topic?: string): Effect.Effect<A, BrokerError> =>
      callKafka(`${what} (Kafka at ${where})`, f, topic)

    // Partition counts, to place records ourselves (murmur2 by key, or round-robin) and know their offsets.
    const partitionCounts = new Map<string, number>()
    const roundRobin = roundRobinCounter()
    const partitionsOf = (topic: string, refresh = false): Effect.Effect<number, BrokerError> =>
      Effect.gen(function* () {
        const cached = partitionCounts.get(topic)
        if (cached !== undefined && !refresh) return cached
        // listTopics answers at once; metadata of a missing topic would be retried for seconds first.
        const names = yield* call("list topics", () => admin.listTopics())
        if (!names.includes(topic)) return yield* new TopicNotFound({ topic })
        const meta = yield* call(`describe ${topic}`, () => admin.fetchTopicMetadata({ topics: [topic] }), topic)
        const count = meta.topics.find((t) => t.name === topic)?.partitions.length ?? 0
        if (count === 0) return yield* new TopicNotFound({ topic })
        partitionCounts.set(topic, count)
        return count
      })

    const createTopic = (spec: TopicSpec) =>
      Effect.gen(function* () {
        if (!TOPIC_NAME.test(spec.name) || spec.name.startsWith("__")) {
          return yield* new RecordRejected({ message: `invalid topic name ${JSON.stringify(spec.name)}` })
        }
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          return yield* new RecordRejected({ message: `a topic needs at least one partition, got ${spec.partitions}` })
        }
        const configEntries = kafkaTopicConfigs(spec, maxRecordBytes)
        // false when it exists already: left as it is. Not waitForLeaders: kafkajs then asks the broker for the
        // topic's metadata once, and a broker whose metadata has not caught up with the controller yet (KRaft,
        // a broker just started) answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs does not retry.
        yield* call(
          `create topic ${spec.name}`,
          () =>
            admin.createTopics({
              topics: [{ topic: spec.name, numPartitions: spec.partitions, configEntries }],
              waitForLeaders: false,
            }),
          spec.name,
        )
        yield* awaitTopic(spec.name)
      })

    /** Until the topic is in the broker's metadata with a leader for every partition (at most 30 s). */
    const awaitTopic = (topic: string) =>
      Effect.gen(function* () {
        const deadline = (yield* Clock.currentTimeMillis) + 30_000
        let last = "not listed"
        while ((yield* Clock.currentTimeMillis) < deadline) {
          const names = yield* call("list topics", () => admin.listTopics())
          if (names.includes(topic)) {
            const meta = yield* Effect.result(
              call(`describe ${topic}`, () => admin.fetchTopicMetadata({ topics: [topic] }), topic),
            )
            if (meta._tag === "Success") {
              const partitions = meta.success.topics.find((t) => t.name === topic)?.partitions ?? []
              if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) {
                // The leaders serve: the topic's offsets can be read (what every caller does next).
                yield* call(`offsets of ${topic}`, () => leaderReady(() => admin.fetchTopicOffsets(topic)), topic)
                return
              }
              last = `${partitions.length} partitions, ${partitions.filter((p) => p.leader < 0).length} without a leader`
            } else last = meta.failure.message
          }
          yield* Effect.sleep("100 millis")
        }
        return yield* new BrokerUnavailable({
          message: `create topic ${topic} (Kafka at ${where}): created, but not in the broker's metadata with leaders after 30 s (${last})`,
        })
      })

    const listTopics = Effect.gen(function* () {
      const meta = yield* call("list topics", () => admin.fetchTopicMetadata())
      return meta.topics
        .filter((t) => !t.name.startsWith("__"))
        .map((t) => ({ name: t.name, partitions: t.partitions.length }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    })

    const produce = (topic: string, records: ReadonlyArray<ProducerRecord>) =>
      Effect.gen(function* () {
        if (records.length === 0) return []
        let partitions = yield* partitionsOf(topic)
        if (records.some((r) => r.partition !== undefined && r.partition >= partitions)) {
          partitions = yield* partitionsOf(topic, true) // partitions may have been added
        }
        // Place every record, then cut the list into requests Kafka accepts.
        type Placed = { index: number; partition: number; message: Message; bytes: number }
        const placed: Array<Placed> = (yield* placeRecords(records, {
          topic,
          partitions,
          maxRecordBytes,
          nextRoundRobin: roundRobin(topic),
        })).map((p) => ({
          index: p.index,
          partition: p.partition,
          bytes: p.bytes,
          message: {
            key: records[p.index]!.key,
            value: toBuffer(p.value),
            partition: p.partition,
            ...(p.timestamp === undefined ? {} : { timestamp: String(p.timestamp) }),
          },
        }))
        const requests: Array<Map<number, Array<Placed>>> = []
        let current = new Map<number, Array<Placed>>()
        const sizes = new Map<number, number>()
        for (const p of placed) {
          const size = sizes.get(p.partition) ?? 0
          if (size > 0 && size + p.bytes > MAX_REQUEST_BYTES_PER_PARTITION) {
            requests.push(current)
            current = new Map()
            sizes.clear()
          }
          const list = current.get(p.partition)
          if (list === undefined) current.set(p.partition, [p])
          else list.push(p)
          sizes.set(p.partition, (sizes.get(p.partition) ?? 0) + p.bytes)
        }
        requests.push(current)

        const positions = new Array<RecordPosition>(records.length)
        for (const request of requests) {
          const groups = [...request.values()]
          const result = yield* call(
            `produce to ${topic}`,
            () => producer.send({ topic, acks: -1, messages: groups.flatMap((g) => g.map((p) => p.message)) }),
            topic,
          )
          // One batch per partition, in order: record i of a partition is at baseOffset + i.
          for (const group of groups) {
            const partition = group[0]!.partition
            const meta = result.find((m) => m.partition === partition)
            if (meta === undefined || meta.baseOffset === undefined) {
              return yield* new BrokerUnavailable({
                message: `produce to ${topic}: no offset for partition ${partition}`,
              })
            }
            const base = Number(meta.baseOffset)
            group.forEach((p, i) => {
              positions[p.index] = { topic, partition, offset: base + i }
            })
          }
        }
        return positions
      })

    const offsets = (topic: string, which: "high" | "low") =>
      Effect.gen(function* () {
        yield* partitionsOf(topic)
        const all = yield* call(`offsets of ${topic}`, () => leaderReady(() => admin.fetchTopicOffsets(topic)), topic)
        return all
          .map((o) => ({ topic, partition: o.partition, offset: Number(o[which]) }))
          .sort((a, b) => a.partition - b.partition) satisfies Array<PartitionOffset>
      })

    const committedOffsets = (groupId: string, topic: string) =>
      Effect.gen(function* () {
        yield* partitionsOf(topic)
        const result = yield* call(
          `committed offsets of ${groupId}`,
          () => admin.fetchOffsets({ groupId, topics: [topic] }),
          topic,
        )
        return result
          .flatMap((t) => t.partitions.map((p) => ({ topic, partition: p.partition, offset: Number(p.offset) })))
          .filter((o) => o.offset >= 0)
          .sort((a, b) => a.partition - b.partition)
      })

    // A record batch of one record: 61 bytes of batch header, at most ~40 of record framing (varints), no headers.
    const RECORD_BATCH_OVERHEAD = 512
    const maxRecordBytesOf = (topic: string) =>
      Effect.gen(function* () {
        yield* partitionsOf(topic)
        const configOf = (type: number, name: string, config: string) =>
          call(
            `describe ${config} of ${name}`,
            () => admin.describeConfigs({ includeSynonyms: false, resources: [{ type, name, configNames: [config] }] }),
            topic,
          ).pipe(
            Effect.map((r) => {
              const value = r.resources[0]?.configEntries.find((e) => e.configName === config)?.configValue
              const n = value === undefined || value === null ? Number.NaN : Number(value)
              return Number.isFinite(n) && n > 0 ? n : undefined
            }),
          )
        // 2 = TOPIC, 4 = BROKER (kafkajs ConfigResourceTypes).
        let limit = yield* configOf(2, topic, "max.message.bytes")
        if (limit === undefined) {
          const cluster = yield* call("describe cluster", () => admin.describeCluster())
          const node = cluster.brokers[0]?.nodeId
          if (node !== undefined) limit = yield* configOf(4, String(node), "message.max.bytes")
        }
        if (limit === undefined) {
          return yield* new BrokerUnavailable({
            message: `record limit of ${topic}: Kafka at ${where} gave neither the topic's max.message.bytes nor the broker's message.max.bytes`,
          })
        }
        return Math.min(maxRecordBytes, limit - RECORD_BATCH_OVERHEAD)
      })

    const listGroups = call("list groups", () => admin.listGroups()).pipe(
      Effect.map((r) => r.groups.map((g) => g.groupId).sort()),
    )

    const consumer = (opts: ConsumerOptions) =>
      Effect.gen(function* () {
        if (opts.partitions !== undefined && opts.topics.length !== 1) {
          return yield* new RecordRejected({ message: "static partition assignment takes exactly one topic" })
        }
        for (const topic of opts.topics) {
          const count = yield* partitionsOf(topic, true)
          for (const partition of opts.partitions ?? []) {
            if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
              return yield* new PartitionNotFound({ topic, partition })
            }
          }
        }
        return yield* makeKafkaConsumer(kafka, opts, {
          joinTimeoutMs: options.joinTimeoutMs ?? 60_000,
          bufferRecords: options.consumerBufferRecords ?? 100_000,
        })
      })

    return Broker.of({
      createTopic,
      listTopics,
      produce,
      endOffsets: (topic) => offsets(topic, "high"),
      startOffsets: (topic) => offsets(topic, "low"),
      committedOffsets,
      listGroups,
      consumer,
      maxRecordBytes: maxRecordBytesOf,
    })
  })

/** The Kafka broker with explicit options (tests, tools). */
export const layerKafkaWith = (options: KafkaOptions): Layer.Layer<Broker, BrokerError> =>
  Layer.effect(Broker, makeKafkaBroker(options))

/**
 * Apache Kafka or Redpanda from the environment: `KAFKA_BROKERS` (comma-separated host:port), optional
 * `KAFKA_CLIENT_ID` (default shop-pulse) and `KAFKA_RETRIES` (default 10, about 35 s of backoff).
 */
export const layerKafka: Layer.Layer<Broker, BrokerError | Config.ConfigError> = Layer.effect(
  Broker,
  Effect.gen(function* () {
    const brokers = yield* Config.String("KAFKA_BROKERS")
    const clientId = yield* Config.String("KAFKA_CLIENT_ID").pipe(Config.withDefault("shop-pulse"))
    const retries = yield* Config.Int("KAFKA_RETRIES").pipe(Config.withDefault(10))
    return yield* makeKafkaBroker({
      brokers: brokers
        .split(",")
        .map((b) => b.trim())
        .filter((b) => b !== ""),
      clientId,
      retries,
    })
  }),
)
