import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { mkdirDurably, writeFileDurably } from "@shop/fsio"
import { Clock, Config, Effect, Layer } from "effect"
import { Broker, type ConsumerOptions, type ProducerRecord, type TopicSpec } from "../Broker.ts"
import {
  attemptStorage as attempt,
  type BrokerError,
  PartitionNotFound,
  RecordRejected,
  TopicNotFound,
} from "../BrokerError.ts"
import { type PlacedRecord, placeRecords, roundRobinCounter } from "../placement.ts"
import { makeEmbeddedConsumer } from "./EmbeddedConsumer.ts"
import { GroupOffsets } from "./GroupOffsets.ts"
import { readJsonFile } from "./jsonFile.ts"
import { PartitionLog } from "./PartitionLog.ts"
import type { EncodedInput } from "./recordCodec.ts"

export interface EmbeddedOptions {
  /** Roll segments at this size (default 64 MiB). */
  readonly segmentBytes?: number
  /**
   * Largest record accepted, key plus value bytes (default 2 MiB: room for the 1 MB payloads the fuzz specs
   * send; the event contract's own limit of 64 KiB is enforced downstream, by the stream processor).
   */
  readonly maxRecordBytes?: number
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/

/** The embedded broker over a directory: `topics/<topic>/<partition>/*.log` and `groups/<group>/`. */
export const makeEmbeddedBroker = (dir: string, options: EmbeddedOptions = {}) =>
  Effect.gen(function* () {
    const root = resolve(dir)
    const topicsDir = join(root, "topics")
    const groupsDir = join(root, "groups")
    yield* attempt("create broker dir", () => {
      mkdirDurably(topicsDir)
      mkdirDurably(groupsDir)
    })
    const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024
    const maxRecordBytes = options.maxRecordBytes ?? 2 * 1024 * 1024
    const specs = new Map<string, TopicSpec>()
    const logs = new Map<string, PartitionLog>()
    const roundRobin = roundRobinCounter()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const log of logs.values()) log.close()
        logs.clear()
      }),
    )

    const specOf = (topic: string): TopicSpec => {
      const cached = specs.get(topic)
      if (cached !== undefined) return cached
      // Another process may have created it since we looked.
      const path = join(topicsDir, topic, "topic.json")
      if (!TOPIC_NAME.test(topic) || !existsSync(path)) throw new TopicNotFound({ topic })
      const spec = readJsonFile<TopicSpec>(path)
      specs.set(topic, spec)
      return spec
    }

    const logOf = (topic: string, partition: number): PartitionLog => {
      const spec = specOf(topic)
      if (!Number.isInteger(partition) || partition < 0 || partition >= spec.partitions) {
        throw new PartitionNotFound({ topic, partition })
      }
      const key = `${topic}/${partition}`
      let log = logs.get(key)
      if (log === undefined) {
        log = new PartitionLog(join(topicsDir, topic, String(partition)), {
          segmentBytes,
          retentionMs: spec.retentionMs,
          retentionBytes: spec.retentionBytes,
        })
        logs.set(key, log)
      }
      return log
    }

    const partitionsOf = (topic: string) => Array.from({ length: specOf(topic).partitions }, (_, p) => p)

    const createTopic = (spec: TopicSpec) =>
      attempt(`create topic ${spec.name}`, () => {
        if (!TOPIC_NAME.test(spec.name)) {
          throw new RecordRejected({ message: `invalid topic name ${JSON.stringify(spec.name)}` })
        }
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          throw new RecordRejected({ message: `a topic needs at least one partition, got ${spec.partitions}` })
        }
        const path = join(topicsDir, spec.name, "topic.json")
        if (existsSync(path)) return
        mkdirDurably(join(topicsDir, spec.name))
        writeFileDurably(path, JSON.stringify(spec))
      })

    const listTopics = attempt("list topics", () =>
      readdirSync(topicsDir)
        .filter((t) => existsSync(join(topicsDir, t, "topic.json")))
        .sort()
        .map((name) => ({ name, partitions: specOf(name).partitions })),
    )

    const produce = (topic: string, records: ReadonlyArray<ProducerRecord>) =>
      Effect.gen(function* () {
        const partitions = yield* attempt(`produce to ${topic}`, () => specOf(topic).partitions)
        const placed = yield* placeRecords(records, {
          topic,
          partitions,
          maxRecordBytes,
          now: yield* Clock.currentTimeMillis,
          nextRoundRobin: roundRobin(topic),
        })
        return yield* attempt(`produce to ${topic}`, () => {
          // A placed record is what the log encodes (its timestamp is set: `now` was given), so no copy is made.
          const byPartition = new Map<number, Array<PlacedRecord & EncodedInput>>()
          for (const p of placed as ReadonlyArray<PlacedRecord & EncodedInput>) {
            const group = byPartition.get(p.partition)
            if (group === undefined) byPartition.set(p.partition, [p])
            else group.push(p)
          }
          const positions = new Array<{ topic: string; partition: number; offset: number }>(records.length)
          for (const [partition, group] of byPartition) {
            const first = logOf(topic, partition).append(group)
            for (let i = 0; i < group.length; i++) positions[group[i]!.index] = { topic, partition, offset: first + i }
          }
          return positions
        })
      })

    const endOffsets = (topic: string) =>
      attempt(`end offsets of ${topic}`, () =>
        partitionsOf(topic).map((partition) => ({ topic, partition, offset: logOf(topic, partition).endOffset })),
      )

    const startOffsets = (topic: string) =>
      attempt(`start offsets of ${topic}`, () =>
        partitionsOf(topic).map((partition) => ({ topic, partition, offset: logOf(topic, partition).startOffset })),
      )

    const committedOffsets = (groupId: string, topic: string) =>
      attempt(`committed offsets of ${groupId}`, () =>
        new GroupOffsets(groupsDir, groupId).committed(topic).map((c) => ({ topic, ...c })),
      )

    const listGroups = attempt("list groups", () => GroupOffsets.list(groupsDir))

    const consumer = (opts: ConsumerOptions) => makeEmbeddedConsumer({ groupsDir, logOf, partitionsOf }, opts)

    const maxRecordBytesOf = (topic: string) =>
      attempt(`record limit of ${topic}`, () => {
        specOf(topic)
        return maxRecordBytes
      })

    return Broker.of({
      createTopic,
      listTopics,
      produce,
      endOffsets,
      startOffsets,
      committedOffsets,
      listGroups,
      consumer,
      maxRecordBytes: maxRecordBytesOf,
    })
  })

/** The embedded durable log under `$DATA_DIR/broker` (default `./data/broker`): what the apps use by default. */
export const layerEmbedded: Layer.Layer<Broker, BrokerError | Config.ConfigError> = Layer.effect(
  Broker,
  Effect.gen(function* () {
    const dataDir = yield* Config.String("DATA_DIR").pipe(Config.withDefault("./data"))
    return yield* makeEmbeddedBroker(`${dataDir}/broker`)
  }),
)

/** The embedded broker in `dir` (tests, tools). */
export const layerEmbeddedAt = (dir: string, options: EmbeddedOptions = {}): Layer.Layer<Broker, BrokerError> =>
  Layer.effect(Broker, makeEmbeddedBroker(dir, options))
