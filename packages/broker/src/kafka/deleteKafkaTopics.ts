import type { Effect } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { type BrokerError, BrokerUnavailable } from "../BrokerError.ts"
import { callKafka } from "./kafkaErrors.ts"

/**
 * Deletes topics and waits until Kafka no longer lists them, so they can be created afresh. For specs and
 * tools that need an empty `events.raw` on a long-lived broker; the pipeline itself never deletes a topic.
 */
export const deleteKafkaTopics = (
  brokers: ReadonlyArray<string>,
  topics: ReadonlyArray<string>,
): Effect.Effect<void, BrokerError> =>
  callKafka(`delete topics ${topics.join(", ")}`, async () => {
    const admin = new Kafka({
      clientId: "shop-pulse-tools",
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
    }).admin()
    await admin.connect()
    try {
      const existing = (await admin.listTopics()).filter((t) => topics.includes(t))
      if (existing.length > 0) await admin.deleteTopics({ topics: existing, timeout: 30_000 })
      const deadline = Date.now() + 60_000
      while ((await admin.listTopics()).some((t) => topics.includes(t))) {
        if (Date.now() > deadline)
          throw new BrokerUnavailable({
            message: `topics ${existing.join(", ")} were still listed 60 s after deletion`,
          })
        await new Promise((r) => setTimeout(r, 200))
      }
    } finally {
      await admin.disconnect()
    }
  })
