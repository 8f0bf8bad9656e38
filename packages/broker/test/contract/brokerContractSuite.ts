/**
 * What every Broker layer must do. Runs against the embedded log in the default test run and against
 * Apache Kafka (kafkajs layer) in CI's Kafka step. Each test uses its own topic and group names, so it
 * passes on a long-lived shared broker too.
 */
import { describe, expect, test } from "bun:test"
import { Effect, type Layer, type Scope } from "effect"
import { Broker, type BrokerError, type ConsumedRecord, type Consumer, partitionForKey } from "../../src/index.ts"

const unique = (what: string) => `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Polls until `n` records arrived or the time is up (Kafka needs a moment to join a group). */
const pollN = (consumer: Consumer, n: number, timeoutMs = 20_000) =>
  Effect.gen(function* () {
    const out: Array<ConsumedRecord> = []
    const deadline = Date.now() + timeoutMs
    while (out.length < n && Date.now() < deadline) {
      out.push(...(yield* consumer.poll({ maxRecords: n - out.length, maxWaitMs: 500 })))
    }
    return out
  })

export const brokerContractSuite = (name: string, makeLayer: () => Layer.Layer<Broker, BrokerError>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, Broker | Scope.Scope>): Promise<A> =>
    Effect.runPromise(effect.pipe(Effect.scoped, Effect.provide(makeLayer())) as Effect.Effect<A, E>)

  describe(`Broker contract: ${name}`, () => {
    test("creates topics idempotently and lists them with their partition counts", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-create")
          yield* broker.createTopic({ name: topic, partitions: 3 })
          yield* broker.createTopic({ name: topic, partitions: 3 })
          const topics = yield* broker.listTopics
          expect(topics.find((t) => t.name === topic)).toEqual({ name: topic, partitions: 3 })
          const ends = yield* broker.endOffsets(topic)
          expect(ends.map((e) => e.offset)).toEqual([0, 0, 0])
        }),
      ))

    test("round-trips values byte for byte, with keys, timestamps and per-partition order", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-roundtrip")
          yield* broker.createTopic({ name: topic, partitions: 3 })
          const binary = new Uint8Array([0, 255, 0xc3, 0x28, 10, 13, 0])
          const records = [
            { key: "session-a", value: "first", timestamp: 1_700_000_000_000 },
            { key: "session-b", value: binary, timestamp: 1_700_000_000_001 },
            { key: "session-a", value: "", timestamp: 1_700_000_000_002 },
            { key: "session-a", value: "héllo ✓", timestamp: 1_700_000_000_003 },
          ]
          const positions = yield* broker.produce(topic, records)
          expect(positions).toHaveLength(4)
          positions.forEach((p, i) => {
            expect(p.partition).toBe(partitionForKey(records[i]!.key, 3))
          })
          // One key, one partition, offsets rising in produce order.
          const a = positions.filter((_, i) => records[i]!.key === "session-a")
          expect(new Set(a.map((p) => p.partition)).size).toBe(1)
          expect(a[0]!.offset < a[1]!.offset && a[1]!.offset < a[2]!.offset).toBe(true)

          const consumer = yield* broker.consumer({ groupId: unique("g-rt"), topics: [topic], fromBeginning: true })
          const got = yield* pollN(consumer, 4)
          expect(got).toHaveLength(4)
          const byTimestamp = [...got].sort((x, y) => x.timestamp - y.timestamp)
          expect(byTimestamp.map((r) => r.key)).toEqual(["session-a", "session-b", "session-a", "session-a"])
          expect(text(byTimestamp[0]!.value)).toBe("first")
          expect(Array.from(byTimestamp[1]!.value)).toEqual(Array.from(binary))
          expect(byTimestamp[2]!.value.length).toBe(0)
          expect(text(byTimestamp[3]!.value)).toBe("héllo ✓")
          const sessionA = got.filter((r) => r.key === "session-a").map((r) => r.offset)
          expect(sessionA).toEqual([...sessionA].sort((x, y) => x - y))
          expect(got.every((r) => r.topic === topic)).toBe(true)
        }),
      ))

    test("random binary values (invalid UTF-8, zero bytes, 256 KiB) come back byte for byte", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-binary")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
          const values = [
            random(256 * 1024),
            new Uint8Array([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]), // never valid UTF-8
            new Uint8Array(0),
            random(1),
            random(4096),
          ]
          yield* broker.produce(
            topic,
            values.map((value) => ({ key: null, value, partition: 0 })),
          )
          const consumer = yield* broker.consumer({ groupId: unique("g-binary"), topics: [topic], fromBeginning: true })
          const got = yield* pollN(consumer, values.length)
          expect(got.map((r) => r.value.length)).toEqual(values.map((v) => v.length))
          got.forEach((r, i) => {
            expect(Buffer.from(r.value).equals(Buffer.from(values[i]!))).toBe(true)
          })
          expect(got.every((r) => r.key === null)).toBe(true)
        }),
      ))

    test("records without a key are spread over all partitions; a missing timestamp is the produce time", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-nokey")
          yield* broker.createTopic({ name: topic, partitions: 3 })
          const before = Date.now()
          const positions = yield* broker.produce(
            topic,
            Array.from({ length: 30 }, (_, i) => ({ key: null, value: `n${i}` })),
          )
          const after = Date.now()
          expect(new Set(positions.map((p) => p.partition))).toEqual(new Set([0, 1, 2]))
          const ends = yield* broker.endOffsets(topic)
          expect(ends.reduce((sum, e) => sum + e.offset, 0)).toBe(30)
          const consumer = yield* broker.consumer({ groupId: unique("g-nokey"), topics: [topic], fromBeginning: true })
          const got = yield* pollN(consumer, 30)
          expect(got).toHaveLength(30)
          for (const r of got) {
            expect(Number.isInteger(r.timestamp)).toBe(true)
            // Generous bounds: a broker may stamp the batch a moment before or after our clock readings.
            expect(r.timestamp).toBeGreaterThanOrEqual(before - 5_000)
            expect(r.timestamp).toBeLessThanOrEqual(after + 5_000)
          }
        }),
      ))

    test("keys land on Kafka's murmur2 partition", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-keys")
          yield* broker.createTopic({ name: topic, partitions: 6 })
          const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
          const positions = yield* broker.produce(
            topic,
            keys.map((key) => ({ key, value: bytes(key) })),
          )
          positions.forEach((p, i) => {
            expect(p.partition).toBe(partitionForKey(keys[i]!, 6))
          })
          expect(new Set(positions.map((p) => p.partition)).size).toBeGreaterThan(3)
        }),
      ))

    test("an explicit partition wins over the key", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-explicit")
          yield* broker.createTopic({ name: topic, partitions: 3 })
          const [p] = yield* broker.produce(topic, [{ key: "k", value: "v", partition: 2 }])
          expect(p!.partition).toBe(2)
          const ends = yield* broker.endOffsets(topic)
          expect(ends.find((e) => e.partition === 2)!.offset).toBe(1)
        }),
      ))

    test("committed offsets survive the consumer and a new member resumes after them", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-commit")
          const groupId = unique("g-commit")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          yield* broker.produce(
            topic,
            Array.from({ length: 10 }, (_, i) => ({ key: null, value: `r${i}`, partition: 0 })),
          )
          yield* Effect.scoped(
            Effect.gen(function* () {
              const c = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
              const first = yield* pollN(c, 4)
              expect(first.slice(0, 4).map((r) => text(r.value))).toEqual(["r0", "r1", "r2", "r3"])
              yield* c.commit([{ topic, partition: 0, offset: 4 }])
            }),
          )
          const committed = yield* broker.committedOffsets(groupId, topic)
          expect(committed).toEqual([{ topic, partition: 0, offset: 4 }])
          const c2 = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
          const rest = yield* pollN(c2, 6)
          expect(rest.map((r) => text(r.value))).toEqual(["r4", "r5", "r6", "r7", "r8", "r9"])
          expect(yield* broker.listGroups).toContain(groupId)
        }),
      ))

    test("offsets are committed per partition; a never-committed group has none", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-offsets")
          const groupId = unique("g-offsets")
          yield* broker.createTopic({ name: topic, partitions: 3 })
          yield* broker.produce(
            topic,
            [0, 1, 2, 0, 1, 0].map((partition, i) => ({ key: null, value: `o${i}`, partition })),
          )
          expect(yield* broker.committedOffsets(groupId, topic)).toEqual([])
          expect((yield* broker.startOffsets(topic)).map((o) => o.offset)).toEqual([0, 0, 0])
          expect((yield* broker.endOffsets(topic)).map((o) => o.offset)).toEqual([3, 2, 1])
          yield* Effect.scoped(
            Effect.gen(function* () {
              const c = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
              const got = yield* pollN(c, 6)
              expect(got).toHaveLength(6)
              yield* c.commit([
                { topic, partition: 0, offset: 2 },
                { topic, partition: 2, offset: 1 },
              ])
            }),
          )
          expect(yield* broker.committedOffsets(groupId, topic)).toEqual([
            { topic, partition: 0, offset: 2 },
            { topic, partition: 2, offset: 1 },
          ])
          // Partition 0 resumes after its commit, 1 (never committed) from the beginning, 2 is done.
          const c2 = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
          const rest = yield* pollN(c2, 3)
          expect(rest.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(["0:2", "1:0", "1:1"])
        }),
      ))

    test("fromBeginning false starts at the end; fromBeginning true at the start", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-latest")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          yield* broker.produce(topic, [{ key: null, value: "old", partition: 0 }])
          const latest = yield* broker.consumer({ groupId: unique("g-latest"), topics: [topic], fromBeginning: false })
          const earliest = yield* broker.consumer({
            groupId: unique("g-earliest"),
            topics: [topic],
            fromBeginning: true,
          })
          // Kafka assigns partitions asynchronously: let both members join before producing the new record.
          yield* latest.poll({ maxRecords: 10, maxWaitMs: 3_000 })
          const fromStart = yield* pollN(earliest, 1)
          yield* broker.produce(topic, [{ key: null, value: "new", partition: 0 }])
          const fromEnd = yield* pollN(latest, 1)
          expect(fromEnd.map((r) => text(r.value))).toEqual(["new"])
          expect(text(fromStart[0]!.value)).toBe("old")
        }),
      ))

    test("seek moves the read position; start and end offsets bound the log", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-seek")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          yield* broker.produce(
            topic,
            Array.from({ length: 5 }, (_, i) => ({ key: null, value: `s${i}`, partition: 0 })),
          )
          expect(yield* broker.startOffsets(topic)).toEqual([{ topic, partition: 0, offset: 0 }])
          expect(yield* broker.endOffsets(topic)).toEqual([{ topic, partition: 0, offset: 5 }])
          const c = yield* broker.consumer({ groupId: unique("g-seek"), topics: [topic], fromBeginning: true })
          yield* pollN(c, 5)
          yield* c.seek({ topic, partition: 0, offset: 3 })
          const again = yield* pollN(c, 2)
          expect(again.map((r) => r.offset)).toEqual([3, 4])
          expect(yield* c.assignment).toEqual([{ topic, partition: 0 }])
        }),
      ))

    test("several batches append in order and an empty batch is a no-op", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-batches")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          expect(yield* broker.produce(topic, [])).toEqual([])
          for (let b = 0; b < 5; b++) {
            const positions = yield* broker.produce(
              topic,
              Array.from({ length: 100 }, (_, i) => ({ key: null, value: `${b}-${i}`, partition: 0 })),
            )
            expect(positions[0]!.offset).toBe(b * 100)
          }
          const c = yield* broker.consumer({ groupId: unique("g-batches"), topics: [topic], fromBeginning: true })
          const all = yield* pollN(c, 500)
          expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 500 }, (_, i) => i))
          expect(text(all[499]!.value)).toBe("4-99")
        }),
      ))

    test("an unknown topic is a typed TopicNotFound", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const result = yield* Effect.result(broker.produce(unique("t-missing"), [{ key: null, value: "x" }]))
          expect(result._tag).toBe("Failure")
          if (result._tag === "Failure") expect(result.failure._tag).toBe("TopicNotFound")
        }),
      ))

    test("maxRecordBytes: a record of exactly that many bytes is accepted, one byte more is RecordRejected", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          const topic = unique("t-limit")
          yield* broker.createTopic({ name: topic, partitions: 1 })
          const limit = yield* broker.maxRecordBytes(topic)
          // Room for the DLQ's 256 KiB payloads and the stream fuzz spec's 1 MB records.
          expect(limit).toBeGreaterThanOrEqual(1024 * 1024)
          const key = "k"
          const fill = (n: number) => new Uint8Array(n).fill(0x61)
          const [at] = yield* broker.produce(topic, [{ key, value: fill(limit - key.length) }])
          expect(at!.offset).toBe(0)
          const over = yield* Effect.result(broker.produce(topic, [{ key, value: fill(limit - key.length + 1) }]))
          expect(over._tag === "Failure" && over.failure._tag).toBe("RecordRejected")
          const missing = yield* Effect.result(broker.maxRecordBytes(unique("t-missing")))
          expect(missing._tag === "Failure" && missing.failure._tag).toBe("TopicNotFound")
        }),
      ))
  })
}
