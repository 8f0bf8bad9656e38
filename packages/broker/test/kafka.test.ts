/**
 * The Kafka layer against a real Apache Kafka (infra/kafka-local): the shared contract suite plus what only
 * Kafka has (groups that rebalance, static assignment through the group, a broker that is down).
 * Runs only when KAFKA_BROKERS is set (CI's Kafka step); plain `bun test` skips it.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect, type Scope } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { Broker, type BrokerError, type ConsumedRecord, type Consumer, layerKafkaWith } from "../src/index.ts"
import { brokerContractSuite } from "./contract/brokerContractSuite.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const brokers = process.env.KAFKA_BROKERS
const onKafka = brokers !== undefined && brokers !== ""
const layer = () => layerKafkaWith({ brokers: (brokers ?? "").split(","), clientId: "broker-tests" })

if (onKafka) brokerContractSuite("kafka (kafkajs)", layer)

const unique = (what: string) => `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
const run = <A, E>(effect: Effect.Effect<A, E, Broker | Scope.Scope>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.scoped, Effect.provide(layer())) as Effect.Effect<A, E>)

const drain = (consumer: Consumer, n: number, timeoutMs = 30_000) =>
  Effect.gen(function* () {
    const out: Array<ConsumedRecord> = []
    const deadline = Date.now() + timeoutMs
    while (out.length < n && Date.now() < deadline) {
      out.push(...(yield* consumer.poll({ maxRecords: 10_000, maxWaitMs: 500 })))
    }
    return out
  })

describe.skipIf(!onKafka)("BrokerLayers.layerKafka beyond the contract", () => {
  test("maxRecordBytes asks Kafka: the topic's max.message.bytes less a batch's overhead, and such a record goes in", async () => {
    const topic = unique("t-small-limit")
    // A topic made by someone else with a smaller limit than the ones the Kafka layer creates.
    const admin = new Kafka({
      clientId: "broker-tests-admin",
      brokers: (brokers ?? "").split(","),
      logLevel: logLevel.NOTHING,
    }).admin()
    await admin.connect()
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "100000" }] }],
      })
    } finally {
      await admin.disconnect()
    }
    await run(
      Effect.gen(function* () {
        const broker = yield* Broker
        const limit = yield* broker.maxRecordBytes(topic)
        expect(limit).toBe(100_000 - 512)
        const [at] = yield* broker.produce(topic, [{ key: "k", value: new Uint8Array(limit - 1).fill(0x62) }])
        expect(at!.offset).toBe(0)
        const far = yield* Effect.result(broker.produce(topic, [{ key: "k", value: new Uint8Array(200_000) }]))
        expect(far._tag === "Failure" && far.failure._tag).toBe("RecordRejected")
      }),
    )
  }, 60_000)

  test(
    "static assignment: two members of one group own exactly the partitions they asked for",
    () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-static")
          const groupId = unique("g-static")
          yield* broker.createTopic({ name: topic, partitions: 3 })
          yield* broker.produce(
            topic,
            Array.from({ length: 30 }, (_, i) => ({ key: null, value: `v${i}`, partition: i % 3 })),
          )
          const a = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true, partitions: [0, 2] })
          const b = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true, partitions: [1] })
          const gotB = yield* drain(b, 10)
          const gotA = yield* drain(a, 20)
          expect((yield* a.assignment).map((x) => x.partition).sort()).toEqual([0, 2])
          expect((yield* b.assignment).map((x) => x.partition)).toEqual([1])
          expect(new Set(gotA.map((r) => r.partition))).toEqual(new Set([0, 2]))
          expect(gotB.every((r) => r.partition === 1)).toBe(true)
          expect(gotA).toHaveLength(20)
          expect(gotB).toHaveLength(10)
        }),
      ),
    90_000,
  )

  test(
    "a partition claimed by a live member is GroupBusy for the second claimant",
    () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-busy")
          const groupId = unique("g-busy")
          yield* broker.createTopic({ name: topic, partitions: 2 })
          yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true, partitions: [0] })
          const second = yield* Effect.result(
            broker.consumer({ groupId, topics: [topic], fromBeginning: true, partitions: [0, 1] }),
          )
          expect(second._tag).toBe("Failure")
          if (second._tag === "Failure") expect(second.failure._tag).toBe("GroupBusy")
        }),
      ),
    90_000,
  )

  test(
    "two dynamic members split the partitions; when one leaves, the other takes its partitions from their commits",
    () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-rebalance")
          const groupId = unique("g-rebalance")
          yield* broker.createTopic({ name: topic, partitions: 4 })
          yield* broker.produce(
            topic,
            Array.from({ length: 40 }, (_, i) => ({ key: null, value: `r${i}`, partition: i % 4 })),
          )
          const first = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
          const settle = (want: (n: number) => boolean, what: string) =>
            Effect.gen(function* () {
              const deadline = Date.now() + 30_000
              while (!want((yield* first.assignment).length)) {
                if (Date.now() > deadline) return yield* Effect.die(new Error(`group did not settle: ${what}`))
                yield* Effect.sleep("100 millis")
              }
            })
          let secondOwned: Array<number> = []
          yield* Effect.scoped(
            Effect.gen(function* () {
              const second = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
              yield* settle((n) => n === 2, "two members")
              secondOwned = (yield* second.assignment).map((a) => a.partition).sort()
              expect(secondOwned).toHaveLength(2)
              const got = yield* drain(second, 20)
              expect(got).toHaveLength(20)
              // Only half of what it read is committed: the rest must be read again by whoever owns it next.
              yield* second.commit(secondOwned.map((partition) => ({ topic, partition, offset: 5 })))
            }),
          )
          yield* settle((n) => n === 4, "one member left")
          const byPartition = new Map<number, Array<number>>()
          const deadline = Date.now() + 30_000
          let total = 0
          while (total < 30 && Date.now() < deadline) {
            for (const r of yield* first.poll({ maxRecords: 1000, maxWaitMs: 500 })) {
              byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset])
              total++
            }
          }
          for (let p = 0; p < 4; p++) {
            const from = secondOwned.includes(p) ? 5 : 0
            expect(byPartition.get(p) ?? []).toEqual(Array.from({ length: 10 - from }, (_, i) => from + i))
          }
        }),
      ),
    120_000,
  )

  test(
    "a bounded buffer: a slow poller still reads 20,000 records in order",
    () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-buffer")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          const n = 20_000
          const positions = yield* broker.produce(
            topic,
            Array.from({ length: n }, (_, i) => ({ key: `k${i % 7}`, value: `value-${i}`.padEnd(200, "x") })),
          )
          expect(positions.map((p) => p.offset)).toEqual(Array.from({ length: n }, (_, i) => i))
          const c = yield* broker.consumer({ groupId: unique("g-buffer"), topics: [topic], fromBeginning: true })
          const got: Array<number> = []
          while (got.length < n) {
            const batch = yield* c.poll({ maxRecords: 1_000, maxWaitMs: 5_000 })
            if (batch.length === 0) break
            got.push(...batch.map((r) => r.offset))
          }
          expect(got).toEqual(Array.from({ length: n }, (_, i) => i))
        }),
      ),
    120_000,
  )

  test("a broker that is not there is a typed BrokerUnavailable after the retries, not a hang or a crash", async () => {
    const started = Date.now()
    const result = await Effect.runPromise(
      Effect.result(
        Effect.gen(function* () {
          const broker = yield* Broker
          return yield* broker.listTopics
        }).pipe(Effect.provide(layerKafkaWith({ brokers: ["localhost:1"], retries: 2 })), Effect.scoped),
      ) as Effect.Effect<{ _tag: string; failure?: BrokerError }>,
    )
    expect(result._tag).toBe("Failure")
    expect(result.failure?._tag).toBe("BrokerUnavailable")
    expect(result.failure?.message).toContain("localhost:1")
    expect(Date.now() - started).toBeLessThan(30_000)
  }, 60_000)
})
