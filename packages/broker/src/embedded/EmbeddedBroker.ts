import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { mkdirDurably, writeFileDurably } from "@shop/fsio"
import { Clock, Effect, Layer } from "effect"
import {
  Broker,
  type ConsumedRecord,
  type Consumer,
  type ConsumerOptions,
  type PartitionOffset,
  type ProducerRecord,
  type TopicSpec,
} from "../Broker.ts"
import {
  type BrokerError,
  BrokerStorageError,
  GroupBusy,
  PartitionNotFound,
  RecordRejected,
  TopicNotFound,
} from "../BrokerError.ts"
import { partitionForKey } from "../partitioner.ts"
import { GroupOffsets } from "./GroupOffsets.ts"
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
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const isBrokerError = (e: unknown): e is BrokerError =>
  e instanceof TopicNotFound ||
  e instanceof PartitionNotFound ||
  e instanceof BrokerStorageError ||
  e instanceof GroupBusy ||
  e instanceof RecordRejected

/** Runs synchronous file work, turning anything thrown into a typed error. */
const attempt = <A>(what: string, f: () => A): Effect.Effect<A, BrokerError> =>
  Effect.try({
    try: f,
    catch: (cause) =>
      isBrokerError(cause)
        ? cause
        : new BrokerStorageError({
            message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
            cause,
          }),
  })

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
    const roundRobin = new Map<string, number>()
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
      const spec = JSON.parse(readFileSync(path, "utf8")) as TopicSpec
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
      attempt(`produce to ${topic}`, () => {
        const partitions = specOf(topic).partitions
        const byPartition = new Map<number, Array<{ index: number; record: EncodedInput }>>()
        records.forEach((r, index) => {
          const value = typeof r.value === "string" ? encoder.encode(r.value) : r.value
          const key = r.key === null ? null : encoder.encode(r.key)
          const size = value.length + (key?.length ?? 0)
          if (size > maxRecordBytes) {
            throw new RecordRejected({
              message: `record ${index} is ${size} bytes (key and value); the embedded broker accepts at most ${maxRecordBytes}`,
            })
          }
          // Kafka timestamps are whole milliseconds since the epoch.
          const timestamp = Math.floor(r.timestamp ?? Date.now())
          if (!Number.isFinite(timestamp) || timestamp < 0) {
            throw new RecordRejected({ message: `record ${index} has an invalid timestamp ${r.timestamp}` })
          }
          let partition = r.partition
          if (partition === undefined) {
            if (key !== null) partition = partitionForKey(key, partitions)
            else {
              const next = (roundRobin.get(topic) ?? 0) + 1
              roundRobin.set(topic, next)
              partition = next % partitions
            }
          }
          if (partition < 0 || partition >= partitions) throw new PartitionNotFound({ topic, partition })
          const group = byPartition.get(partition) ?? []
          group.push({
            index,
            record: { key, value, timestamp },
          })
          byPartition.set(partition, group)
        })
        const positions = new Array<{ topic: string; partition: number; offset: number }>(records.length)
        for (const [partition, group] of byPartition) {
          const first = logOf(topic, partition).append(group.map((g) => g.record))
          group.forEach((g, i) => {
            positions[g.index] = { topic, partition, offset: first + i }
          })
        }
        return positions
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

    const consumer = (opts: ConsumerOptions) =>
      Effect.gen(function* () {
        const group = new GroupOffsets(groupsDir, opts.groupId)
        const assigned = yield* attempt("assign partitions", () => {
          if (opts.partitions !== undefined && opts.topics.length !== 1) {
            throw new RecordRejected({ message: "static partition assignment takes exactly one topic" })
          }
          return opts.topics.flatMap((topic) =>
            (opts.partitions ?? partitionsOf(topic)).map((partition) => {
              if (!partitionsOf(topic).includes(partition)) throw new PartitionNotFound({ topic, partition })
              return { topic, partition }
            }),
          )
        })
        yield* Effect.acquireRelease(
          attempt(`join group ${opts.groupId}`, () => {
            const locks = group.join(assigned)
            if (locks === undefined) {
              throw new GroupBusy({
                groupId: opts.groupId,
                message: `consumer group ${opts.groupId} already has a live member on these partitions; the embedded broker gives each partition to one member (split partitions with static assignment, or use Kafka/Redpanda to scale out)`,
              })
            }
            return locks
          }),
          (locks) => Effect.sync(() => group.leave(locks)),
        )
        const positions = new Map<string, { topic: string; partition: number; offset: number }>()
        yield* attempt("position consumer", () => {
          for (const { topic, partition } of assigned) {
            const committed = group.committed(topic).find((c) => c.partition === partition)?.offset
            const log = logOf(topic, partition)
            const offset = committed ?? (opts.fromBeginning ? log.startOffset : log.endOffset)
            positions.set(`${topic}/${partition}`, { topic, partition, offset })
          }
        })
        let cursor = 0

        const pollOnce = (maxRecords: number): Array<ConsumedRecord> => {
          const out: Array<ConsumedRecord> = []
          const all = [...positions.values()]
          // Round-robin start so one busy partition cannot starve the others.
          for (let i = 0; i < all.length && out.length < maxRecords; i++) {
            const pos = all[(cursor + i) % all.length]!
            const records = logOf(pos.topic, pos.partition).read(pos.offset, maxRecords - out.length)
            for (const r of records) {
              out.push({
                topic: pos.topic,
                partition: pos.partition,
                offset: r.offset,
                key: r.key === null ? null : decoder.decode(r.key),
                value: r.value,
                timestamp: r.timestamp,
              })
            }
            if (records.length > 0) pos.offset = records.at(-1)!.offset + 1
          }
          cursor = (cursor + 1) % Math.max(all.length, 1)
          return out
        }

        const poll = Effect.fn("EmbeddedConsumer.poll")(function* (o: { maxRecords: number; maxWaitMs: number }) {
          const deadline = (yield* Clock.currentTimeMillis) + o.maxWaitMs
          for (;;) {
            const records = yield* attempt("poll", () => pollOnce(o.maxRecords))
            const now = yield* Clock.currentTimeMillis
            if (records.length > 0 || now >= deadline) return records
            yield* Effect.sleep(Math.min(10, Math.max(1, deadline - now)))
          }
        })

        const seek = (p: PartitionOffset) =>
          attempt("seek", () => {
            const pos = positions.get(`${p.topic}/${p.partition}`)
            if (pos === undefined) throw new PartitionNotFound({ topic: p.topic, partition: p.partition })
            pos.offset = p.offset
          })

        const commit = (offsets: ReadonlyArray<PartitionOffset>) =>
          attempt(`commit offsets of ${opts.groupId}`, () => group.commit(offsets))

        const assignment = Effect.succeed([...positions.values()].map(({ topic, partition }) => ({ topic, partition })))

        return { assignment, poll, seek, commit } satisfies Consumer
      })

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

/** The embedded broker in `dir` (tests, tools). */
export const layerEmbeddedAt = (dir: string, options: EmbeddedOptions = {}): Layer.Layer<Broker, BrokerError> =>
  Layer.effect(Broker, makeEmbeddedBroker(dir, options))
