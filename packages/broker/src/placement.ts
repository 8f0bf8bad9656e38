import { Effect } from "effect"
import type { ProducerRecord } from "./Broker.ts"
import { PartitionNotFound, RecordRejected } from "./BrokerError.ts"
import { partitionForKey } from "./partitioner.ts"

const encoder = new TextEncoder()

/** A record checked and given its partition, ready for either implementation to write. */
export interface PlacedRecord {
  /** Its position in the produce call's input (positions are answered in input order). */
  readonly index: number
  readonly partition: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  /** Whole epoch ms; undefined only when neither the record nor the caller gave one (Kafka stamps it). */
  readonly timestamp: number | undefined
  /** Key plus value bytes. */
  readonly bytes: number
}

export interface PlacementOptions {
  readonly topic: string
  readonly partitions: number
  readonly maxRecordBytes: number
  /** The timestamp of a record that has none (the embedded broker's produce time); absent: left undefined. */
  readonly now?: number
  /** Next counter of the topic's round robin, for records without key and partition. */
  readonly nextRoundRobin: () => number
}

/**
 * The checks and placement both produce paths share: size (key plus value), timestamp (whole ms, not
 * negative), partition (explicit, else murmur2 of the key as Kafka's default partitioner, else round robin).
 * Fails on the first record that breaks a rule, so nothing of a refused call is written.
 */
export const placeRecords = (
  records: ReadonlyArray<ProducerRecord>,
  options: PlacementOptions,
): Effect.Effect<Array<PlacedRecord>, RecordRejected | PartitionNotFound> => {
  const { topic, partitions, maxRecordBytes } = options
  const placed = new Array<PlacedRecord>(records.length)
  for (let index = 0; index < records.length; index++) {
    const r = records[index]!
    const value = typeof r.value === "string" ? encoder.encode(r.value) : r.value
    const key = r.key === null ? null : encoder.encode(r.key)
    const bytes = value.length + (key?.length ?? 0)
    if (bytes > maxRecordBytes) {
      return Effect.fail(
        new RecordRejected({
          message: `record ${index} is ${bytes} bytes (key and value); at most ${maxRecordBytes} are accepted`,
        }),
      )
    }
    // Kafka timestamps are whole milliseconds since the epoch.
    const given = r.timestamp ?? options.now
    const timestamp = given === undefined ? undefined : Math.floor(given)
    if (timestamp !== undefined && (!Number.isFinite(timestamp) || timestamp < 0)) {
      return Effect.fail(new RecordRejected({ message: `record ${index} has an invalid timestamp ${r.timestamp}` }))
    }
    const partition =
      r.partition ?? (key !== null ? partitionForKey(key, partitions) : options.nextRoundRobin() % partitions)
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      return Effect.fail(new PartitionNotFound({ topic, partition }))
    }
    placed[index] = { index, partition, key, value, timestamp, bytes }
  }
  return Effect.succeed(placed)
}

/** A counter per topic for `nextRoundRobin`. */
export const roundRobinCounter = () => {
  const counters = new Map<string, number>()
  return (topic: string) => () => {
    const next = (counters.get(topic) ?? 0) + 1
    counters.set(topic, next)
    return next
  }
}
