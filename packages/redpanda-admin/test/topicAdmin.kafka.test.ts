import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { ensureTopics } from "../src/index.ts"

// Needs a real Kafka-protocol broker: run with KAFKA_BROKERS=localhost:9092 (the kafka suite step of .ci/run).
const brokers = process.env.KAFKA_BROKERS?.split(",") ?? []

describe.skipIf(brokers.length === 0)("topic admin over the Kafka protocol", () => {
  test("creates missing topics with partitions and retention, then checks them without changing them", async () => {
    const name = `admin-test-${Date.now()}`
    const plan = [{ name, partitions: 4, retentionMs: 3_600_000 }]
    const created = await Effect.runPromise(ensureTopics(brokers, plan))
    expect(created).toEqual([
      { name, partitions: 4, retentionMs: "3600000", retentionBytes: expect.any(String), problems: [] },
    ])
    const wider = await Effect.runPromise(ensureTopics(brokers, [{ name, partitions: 6, retentionMs: 60_000 }]))
    expect(wider[0]!.partitions).toBe(4)
    expect(wider[0]!.problems).toEqual(["has 4 partitions, planned 6", "retention.ms is 3600000, planned 60000"])
  }, 60_000)
})
