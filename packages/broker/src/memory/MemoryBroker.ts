import { Clock, Effect, Layer } from "effect"
import { Broker, type ConsumedRecord, type Consumer, type ConsumerOptions, type TopicSpec } from "../Broker.ts"
import { GroupBusy, PartitionNotFound, RecordRejected, TopicNotFound } from "../BrokerError.ts"
import { PIPELINE_MAX_RECORD_BYTES } from "../ensureDefaultTopics.ts"
import { placeRecords, roundRobinCounter } from "../placement.ts"

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/
const decoder = new TextDecoder()

interface StoredRecord {
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestamp: number
}

interface Group {
  /** "topic/partition" -> next offset to read. */
  readonly committed: Map<string, number>
  /** "topic/partition" held by a live member. */
  readonly members: Set<string>
}

const keyOf = (topic: string, partition: number) => `${topic}/${partition}`

/**
 * The Broker in memory, for specs: the contract's behaviour (placement, offsets, groups with one member per
 * partition, commits) without files, processes or a network, and on the Effect Clock, so a spec on the
 * TestClock controls its timestamps and poll waits. Nothing survives the layer; there is no retention.
 */
export const makeMemoryBroker = (options: { readonly maxRecordBytes?: number } = {}) =>
  Effect.sync(() => {
    const maxRecordBytes = options.maxRecordBytes ?? PIPELINE_MAX_RECORD_BYTES
    const topics = new Map<string, { spec: TopicSpec; logs: Array<Array<StoredRecord>> }>()
    const groups = new Map<string, Group>()
    const roundRobin = roundRobinCounter()

    const topicOf = (topic: string) => {
      const t = topics.get(topic)
      return t === undefined ? Effect.fail(new TopicNotFound({ topic })) : Effect.succeed(t)
    }
    const groupOf = (groupId: string): Group => {
      let group = groups.get(groupId)
      if (group === undefined) {
        group = { committed: new Map(), members: new Set() }
        groups.set(groupId, group)
      }
      return group
    }
    const offsets = (topic: string, which: "start" | "end") =>
      Effect.map(topicOf(topic), (t) =>
        t.logs.map((log, partition) => ({ topic, partition, offset: which === "start" ? 0 : log.length })),
      )

    const createTopic = (spec: TopicSpec) =>
      Effect.suspend(() => {
        if (!TOPIC_NAME.test(spec.name)) {
          return Effect.fail(new RecordRejected({ message: `invalid topic name ${JSON.stringify(spec.name)}` }))
        }
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          return Effect.fail(
            new RecordRejected({ message: `a topic needs at least one partition, got ${spec.partitions}` }),
          )
        }
        if (!topics.has(spec.name)) {
          topics.set(spec.name, { spec, logs: Array.from({ length: spec.partitions }, () => []) })
        }
        return Effect.void
      })

    const produce = Effect.fnUntraced(function* (
      topic: string,
      records: ReadonlyArray<{
        key: string | null
        value: Uint8Array | string
        timestamp?: number
        partition?: number
      }>,
    ) {
      const t = yield* topicOf(topic)
      const placed = yield* placeRecords(records, {
        topic,
        partitions: t.spec.partitions,
        maxRecordBytes,
        now: yield* Clock.currentTimeMillis,
        nextRoundRobin: roundRobin(topic),
      })
      return placed.map((p) => {
        const log = t.logs[p.partition]!
        // A copy: the caller may reuse its buffer; what was produced stays as it was.
        log.push({ key: p.key, value: p.value.slice(), timestamp: p.timestamp! })
        return { topic, partition: p.partition, offset: log.length - 1 }
      })
    })

    const consumer = (opts: ConsumerOptions) =>
      Effect.gen(function* () {
        if (opts.partitions !== undefined && opts.topics.length !== 1) {
          return yield* new RecordRejected({ message: "static partition assignment takes exactly one topic" })
        }
        const assigned: Array<{ topic: string; partition: number }> = []
        for (const topic of opts.topics) {
          const t = yield* topicOf(topic)
          for (const partition of opts.partitions ?? t.logs.map((_, p) => p)) {
            if (!Number.isInteger(partition) || partition < 0 || partition >= t.spec.partitions) {
              return yield* new PartitionNotFound({ topic, partition })
            }
            assigned.push({ topic, partition })
          }
        }
        const group = groupOf(opts.groupId)
        yield* Effect.acquireRelease(
          Effect.suspend(() => {
            if (assigned.some((a) => group.members.has(keyOf(a.topic, a.partition)))) {
              return Effect.fail(
                new GroupBusy({
                  groupId: opts.groupId,
                  message: `consumer group ${opts.groupId} already has a live member on these partitions`,
                }),
              )
            }
            for (const a of assigned) group.members.add(keyOf(a.topic, a.partition))
            return Effect.void
          }),
          () =>
            Effect.sync(() => {
              for (const a of assigned) group.members.delete(keyOf(a.topic, a.partition))
            }),
        )
        const positions = assigned.map((a) => ({
          ...a,
          log: topics.get(a.topic)!.logs[a.partition]!,
          offset:
            group.committed.get(keyOf(a.topic, a.partition)) ??
            (opts.fromBeginning ? 0 : topics.get(a.topic)!.logs[a.partition]!.length),
        }))
        let cursor = 0
        const pollOnce = (maxRecords: number) => {
          const out: Array<ConsumedRecord> = []
          // Round-robin start so one busy partition cannot starve the others.
          for (let i = 0; i < positions.length && out.length < maxRecords; i++) {
            const pos = positions[(cursor + i) % positions.length]!
            while (pos.offset < pos.log.length && out.length < maxRecords) {
              const r = pos.log[pos.offset]!
              out.push({
                topic: pos.topic,
                partition: pos.partition,
                offset: pos.offset,
                key: r.key === null ? null : decoder.decode(r.key),
                value: r.value,
                timestamp: r.timestamp,
              })
              pos.offset++
            }
          }
          cursor = (cursor + 1) % Math.max(positions.length, 1)
          return out
        }
        const poll = Effect.fnUntraced(function* (o: { readonly maxRecords: number; readonly maxWaitMs: number }) {
          const deadline = (yield* Clock.currentTimeMillis) + o.maxWaitMs
          for (;;) {
            const records = pollOnce(o.maxRecords)
            const now = yield* Clock.currentTimeMillis
            if (records.length > 0 || now >= deadline) return records
            yield* Effect.sleep(Math.min(10, deadline - now))
          }
        })
        return {
          assignment: Effect.succeed(assigned.map((a) => ({ ...a }))),
          poll,
          seek: (p) =>
            Effect.suspend(() => {
              const pos = positions.find((q) => q.topic === p.topic && q.partition === p.partition)
              if (pos === undefined)
                return Effect.fail(new PartitionNotFound({ topic: p.topic, partition: p.partition }))
              pos.offset = p.offset
              return Effect.void
            }),
          commit: (list) =>
            Effect.sync(() => {
              for (const o of list) group.committed.set(keyOf(o.topic, o.partition), o.offset)
            }),
        } satisfies Consumer
      })

    return Broker.of({
      createTopic,
      listTopics: Effect.sync(() =>
        [...topics.values()]
          .map((t) => ({ name: t.spec.name, partitions: t.spec.partitions }))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      ),
      produce,
      endOffsets: (topic) => offsets(topic, "end"),
      startOffsets: (topic) => offsets(topic, "start"),
      committedOffsets: (groupId, topic) =>
        Effect.map(topicOf(topic), (t) =>
          t.logs.flatMap((_, partition) => {
            const offset = groups.get(groupId)?.committed.get(keyOf(topic, partition))
            return offset === undefined ? [] : [{ topic, partition, offset }]
          }),
        ),
      maxRecordBytes: (topic) => Effect.as(topicOf(topic), maxRecordBytes),
      listGroups: Effect.sync(() =>
        [...groups.entries()]
          .filter(([, g]) => g.committed.size > 0)
          .map(([id]) => id)
          .sort(),
      ),
      consumer,
    })
  })

/** A fresh in-memory Broker per build of the layer: for specs. */
export const layerMemory = (options: { readonly maxRecordBytes?: number } = {}): Layer.Layer<Broker> =>
  Layer.effect(Broker, makeMemoryBroker(options))
