import { Effect } from "effect"
import { Broker, type TopicSpec } from "./Broker.ts"

const DAY_MS = 86_400_000

/** Largest record (key + value) the pipeline's topics take, on both layers. */
export const PIPELINE_MAX_RECORD_BYTES = 2 * 1024 * 1024

/**
 * The pipeline's topics, the one definition every creator uses (the processor, the generator and produce
 * tools, `bun run topics --ensure` and compose's topics-init through it):
 * - `events.raw` (key = session_id) keeps its records by no time limit: Kafka's time retention compares the
 *   *record* timestamp (the event time, CreateTime) with now, so a backfill of events older than the limit
 *   would be deleted at the broker's next retention check, before the processor read it. Bronze in the lake
 *   holds everything anyway; bound it by size (`retentionBytes`) if the disk needs it.
 * - `events.dlq` keeps 30 days for people to look at what was rejected (its records are stamped when produced).
 * On Kafka both get max.message.bytes for records of up to PIPELINE_MAX_RECORD_BYTES (see kafkaTopicConfigs).
 */
export const pipelineTopics = (rawPartitions = 3): ReadonlyArray<TopicSpec> => [
  { name: "events.raw", partitions: rawPartitions },
  { name: "events.dlq", partitions: 1, retentionMs: 30 * DAY_MS },
]

/** The pipeline's topics with events.raw at 3 partitions. */
export const DEFAULT_TOPICS = pipelineTopics(3)

/**
 * A TopicSpec as Kafka topic configs, for the Kafka layer and the topic admin alike: absent retention means
 * "keep" (-1) as on the embedded broker, not the broker's default (7 days by record time); max.message.bytes
 * leaves room for a whole batch around the largest record.
 */
export const kafkaTopicConfigs = (
  spec: TopicSpec,
  maxRecordBytes: number = PIPELINE_MAX_RECORD_BYTES,
): Array<{ readonly name: string; readonly value: string }> => [
  { name: "max.message.bytes", value: String(maxRecordBytes + 64 * 1024) },
  { name: "retention.ms", value: String(spec.retentionMs ?? -1) },
  { name: "retention.bytes", value: String(spec.retentionBytes ?? -1) },
]

/** Creates the pipeline's topics that are missing (events.raw with `rawPartitions`); existing ones are left as they are. */
export const ensurePipelineTopics = (rawPartitions = 3) =>
  Effect.gen(function* () {
    const broker = yield* Broker
    for (const spec of pipelineTopics(rawPartitions)) yield* broker.createTopic(spec)
  })

export const ensureDefaultTopics = ensurePipelineTopics(3)
