import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { Broker, layerKafkaWith, pipelineTopics } from "@shop/broker"
import { Effect } from "effect"
import { ensureTopics } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

// Needs a real Kafka-protocol broker: run with KAFKA_BROKERS=localhost:9092 (the kafka suite step of .ci/run).
const brokers = process.env.KAFKA_BROKERS?.split(",") ?? []

describe.skipIf(brokers.length === 0)("topic admin over the Kafka protocol", () => {
  test("creates missing topics with partitions and retention, then checks them without changing them", async () => {
    const name = `admin-test-${Date.now()}`
    const plan = [{ name, partitions: 4, retentionMs: 3_600_000 }]
    const created = await Effect.runPromise(ensureTopics(brokers, plan))
    expect(created).toEqual([
      { name, partitions: 4, retentionMs: "3600000", retentionBytes: "-1", maxMessageBytes: "2162688", problems: [] },
    ])
    const wider = await Effect.runPromise(ensureTopics(brokers, [{ name, partitions: 6, retentionMs: 60_000 }]))
    expect(wider[0]!.partitions).toBe(4)
    expect(wider[0]!.problems).toEqual(["has 4 partitions, planned 6", "retention.ms is 3600000, planned 60000"])
  }, 60_000)

  test("one definition: topics the Kafka layer creates are exactly as `topics --ensure` plans them", async () => {
    const suffix = Date.now().toString(36)
    const plans = pipelineTopics(3).map((t) => ({ ...t, name: `${t.name}-${suffix}` }))
    await Effect.runPromise(
      Effect.gen(function* () {
        const broker = yield* Broker
        for (const p of plans) yield* broker.createTopic(p)
      }).pipe(Effect.provide(layerKafkaWith({ brokers }))),
    )
    const states = await Effect.runPromise(ensureTopics(brokers, plans))
    expect(states.map((s) => [s.name, s.problems])).toEqual(plans.map((p) => [p.name, []]))
    // events.raw keeps records whatever their (event-time) timestamps; events.dlq 30 days.
    expect(states.map((s) => s.retentionMs)).toEqual(["-1", String(30 * 86_400_000)])
    expect(states.map((s) => s.maxMessageBytes)).toEqual(["2162688", "2162688"])
  }, 60_000)
})
