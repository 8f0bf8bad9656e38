import { TOPIC_DLQ, TOPIC_RAW } from "@shop/contract"
import type { TopicPlan } from "./TopicAdmin.ts"

const DAY_MS = 86_400_000

/**
 * The pipeline's topics in production. events.raw keeps 7 days: the lake holds everything in Bronze, and a
 * week covers replays after an outage. events.dlq keeps 30 days, for people to look at what was rejected.
 */
export const pipelineTopics = (rawPartitions: number): ReadonlyArray<TopicPlan> => [
  { name: TOPIC_RAW, partitions: rawPartitions, retentionMs: 7 * DAY_MS },
  { name: TOPIC_DLQ, partitions: 1, retentionMs: 30 * DAY_MS },
]
