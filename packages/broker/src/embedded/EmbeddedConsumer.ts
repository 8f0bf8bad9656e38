import { Clock, Effect, type Scope } from "effect"
import type { ConsumedRecord, Consumer, ConsumerOptions, PartitionOffset } from "../Broker.ts"
import { attemptStorage, type BrokerError, GroupBusy, PartitionNotFound, RecordRejected } from "../BrokerError.ts"
import { GroupOffsets } from "./GroupOffsets.ts"
import type { PartitionLog } from "./PartitionLog.ts"

/** What a consumer needs of the embedded broker it belongs to. */
export interface EmbeddedLogs {
  readonly groupsDir: string
  /** The partition's log (TopicNotFound / PartitionNotFound thrown for names that do not exist). */
  readonly logOf: (topic: string, partition: number) => PartitionLog
  readonly partitionsOf: (topic: string) => ReadonlyArray<number>
}

const decoder = new TextDecoder()

/**
 * A member of an embedded consumer group. It owns its partitions alone (a file lock per partition, dropped by
 * the kernel if the process dies); a second member on any of them is GroupBusy. Polls read the segment files
 * directly, round robin over the partitions; `commit` replaces the group's offsets file durably.
 */
export const makeEmbeddedConsumer = (
  logs: EmbeddedLogs,
  opts: ConsumerOptions,
): Effect.Effect<Consumer, BrokerError, Scope.Scope> =>
  Effect.gen(function* () {
    const { logOf, partitionsOf } = logs
    const group = new GroupOffsets(logs.groupsDir, opts.groupId)
    const assigned = yield* attemptStorage("assign partitions", () => {
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
      attemptStorage(`join group ${opts.groupId}`, () => {
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
    yield* attemptStorage("position consumer", () => {
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
        const records = yield* attemptStorage("poll", () => pollOnce(o.maxRecords))
        const now = yield* Clock.currentTimeMillis
        if (records.length > 0 || now >= deadline) return records
        // Other processes append to the files: look again shortly (no notification crosses processes).
        yield* Effect.sleep(Math.min(10, Math.max(1, deadline - now)))
      }
    })

    const seek = (p: PartitionOffset) =>
      attemptStorage("seek", () => {
        const pos = positions.get(`${p.topic}/${p.partition}`)
        if (pos === undefined) throw new PartitionNotFound({ topic: p.topic, partition: p.partition })
        pos.offset = p.offset
      })

    const commit = (offsets: ReadonlyArray<PartitionOffset>) =>
      attemptStorage(`commit offsets of ${opts.groupId}`, () => group.commit(offsets))

    const assignment = Effect.succeed([...positions.values()].map(({ topic, partition }) => ({ topic, partition })))

    return { assignment, poll, seek, commit } satisfies Consumer
  })
