import { Context, type Effect, type Scope } from "effect"
import type { BrokerError } from "./BrokerError.ts"

/** A record handed to the broker. `timestamp` is Kafka's CreateTime in epoch ms; absent means "now". */
export interface ProducerRecord {
  readonly key: string | null
  readonly value: Uint8Array | string
  readonly timestamp?: number
  /** Explicit partition; absent means partition by key hash (murmur2, as Kafka's default partitioner). */
  readonly partition?: number
}

/** Where a produced record landed. */
export interface RecordPosition {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** A record read back from the broker. `value` is the exact bytes that were produced. */
export interface ConsumedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: Uint8Array
  /** Record timestamp (CreateTime) in epoch ms. */
  readonly timestamp: number
}

export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  /** Delete whole segments older than this (ms). Absent: keep forever (on Kafka too: retention.ms -1). Kafka
   *  measures age by the records' timestamps, the embedded broker by the segment file's modification time. */
  readonly retentionMs?: number
  /** Keep at most about this many bytes per partition, deleting oldest segments. Absent: unbounded. */
  readonly retentionBytes?: number
}

export interface TopicInfo {
  readonly name: string
  readonly partitions: number
}

/** Offset of one partition. For end offsets it is the next offset to be written (Kafka's high watermark);
 *  for committed offsets it is the next offset the group will read. */
export interface PartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export interface ConsumerOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  /** Where to start in a partition the group has never committed: earliest (true) or latest (false). */
  readonly fromBeginning: boolean
  /**
   * Static assignment: own exactly these partitions of the (single) topic instead of joining the group's
   * rebalancing, so several processes can split a topic between them (like Kafka's `assign`).
   */
  readonly partitions?: ReadonlyArray<number>
}

/** One member of a consumer group. Poll-based, so the caller decides when a batch is done and when to commit. */
export interface Consumer {
  /** Partitions this member currently owns. May change after a rebalance (Kafka); the embedded broker
   *  gives a single member every partition. */
  readonly assignment: Effect.Effect<ReadonlyArray<{ readonly topic: string; readonly partition: number }>, BrokerError>
  /** Up to `maxRecords` records in offset order per partition, waiting at most `maxWaitMs` when none are ready. */
  readonly poll: (options: {
    readonly maxRecords: number
    readonly maxWaitMs: number
  }) => Effect.Effect<ReadonlyArray<ConsumedRecord>, BrokerError>
  /** Move the read position of an owned partition (e.g. to resume from the lake's commit log). */
  readonly seek: (position: PartitionOffset) => Effect.Effect<void, BrokerError>
  /** Durably store the group's next-offset-to-read for the given partitions. */
  readonly commit: (offsets: ReadonlyArray<PartitionOffset>) => Effect.Effect<void, BrokerError>
}

/**
 * The pipeline's only door to a log: the tag and its types. The layers live beside their implementations
 * (embedded/EmbeddedBroker.ts: `layerEmbedded`, a durable log on local disk, the default; kafka/KafkaBroker.ts:
 * `layerKafka`, Redpanda or Apache Kafka; brokerFromEnv.ts picks one; `BrokerLayers` in brokerLayers.ts holds
 * them all and `layerTest`, memory/MemoryBroker.ts in memory, for specs). All three pass the same contract
 * suite (test/contract).
 */
export class Broker extends Context.Service<
  Broker,
  {
    /** Create a topic if it does not exist; an existing topic is left as it is. */
    readonly createTopic: (spec: TopicSpec) => Effect.Effect<void, BrokerError>
    readonly listTopics: Effect.Effect<ReadonlyArray<TopicInfo>, BrokerError>
    /** Append records; resolves only once they are durable (fsync / acks=all). Positions are in input order. */
    readonly produce: (
      topic: string,
      records: ReadonlyArray<ProducerRecord>,
    ) => Effect.Effect<ReadonlyArray<RecordPosition>, BrokerError>
    /** Next offset to be written, per partition (high watermark). */
    readonly endOffsets: (topic: string) => Effect.Effect<ReadonlyArray<PartitionOffset>, BrokerError>
    /** First offset still retained, per partition. */
    readonly startOffsets: (topic: string) => Effect.Effect<ReadonlyArray<PartitionOffset>, BrokerError>
    /** The group's committed next-offset-to-read per partition of the topic (absent partitions: never committed). */
    readonly committedOffsets: (
      groupId: string,
      topic: string,
    ) => Effect.Effect<ReadonlyArray<PartitionOffset>, BrokerError>
    /** Largest record (key plus value bytes) the topic accepts, one record alone in a request. Kafka: the topic's
     *  max.message.bytes (else the broker's message.max.bytes) less a record batch's overhead, at most what the
     *  client accepts; embedded: its record size limit. */
    readonly maxRecordBytes: (topic: string) => Effect.Effect<number, BrokerError>
    /** Consumer groups known to the broker. */
    readonly listGroups: Effect.Effect<ReadonlyArray<string>, BrokerError>
    /** Join a consumer group; leaving the scope leaves the group. */
    readonly consumer: (options: ConsumerOptions) => Effect.Effect<Consumer, BrokerError, Scope.Scope>
  }
>()("@shop/broker/Broker") {}
