import { Effect } from "effect"
import { Broker } from "./Broker.ts"

/** The pipeline's topics: `events.raw` with 3 partitions (key = session_id), `events.dlq` with 1. */
export const DEFAULT_TOPICS = [
  { name: "events.raw", partitions: 3 },
  { name: "events.dlq", partitions: 1 },
] as const

export const ensureDefaultTopics = Effect.gen(function* () {
  const broker = yield* Broker
  for (const spec of DEFAULT_TOPICS) yield* broker.createTopic(spec)
})
