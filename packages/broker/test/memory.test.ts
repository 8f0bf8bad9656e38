import { expect, setDefaultTimeout, test } from "bun:test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Broker, BrokerLayers } from "../src/index.ts"
import { brokerContractSuite } from "./contract/brokerContractSuite.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

brokerContractSuite("in memory (layerTest)", () => BrokerLayers.layerTest)

test("layerTest runs on the Effect Clock: a record without a timestamp gets the TestClock's time, a poll waits on it", () =>
  Effect.gen(function* () {
    const broker = yield* Broker
    yield* broker.createTopic({ name: "t", partitions: 1 })
    yield* TestClock.setTime(1_700_000_000_000)
    yield* broker.produce("t", [{ key: "k", value: "first" }])
    const consumer = yield* broker.consumer({ groupId: "g", topics: ["t"], fromBeginning: true })
    const [first] = yield* consumer.poll({ maxRecords: 10, maxWaitMs: 0 })
    expect(first?.timestamp).toBe(1_700_000_000_000)
    // Nothing new: the poll waits up to 5 s of clock time, and a record produced meanwhile ends the wait.
    const waiting = yield* Effect.forkChild(consumer.poll({ maxRecords: 10, maxWaitMs: 5_000 }))
    yield* TestClock.adjust(2_000)
    expect(waiting.pollUnsafe()).toBeUndefined()
    yield* broker.produce("t", [{ key: "k", value: "second" }])
    yield* TestClock.adjust(10)
    const got = yield* Fiber.join(waiting)
    expect(got.map((r) => [r.offset, r.timestamp])).toEqual([[1, 1_700_000_002_000]])
    // And with nothing at all, it answers empty exactly at its deadline.
    const empty = yield* Effect.forkChild(consumer.poll({ maxRecords: 10, maxWaitMs: 5_000 }))
    yield* TestClock.adjust(4_999)
    expect(empty.pollUnsafe()).toBeUndefined()
    yield* TestClock.adjust(1)
    expect(yield* Fiber.join(empty)).toEqual([])
  }).pipe(Effect.scoped, Effect.provide(BrokerLayers.layerTest), Effect.provide(TestClock.layer()), Effect.runPromise))

test("layerTest: one live member per partition of a group (GroupBusy), free again once it leaves", () =>
  Effect.gen(function* () {
    const broker = yield* Broker
    yield* broker.createTopic({ name: "t", partitions: 2 })
    const second = yield* Effect.scoped(
      Effect.gen(function* () {
        yield* broker.consumer({ groupId: "g", topics: ["t"], fromBeginning: true, partitions: [0] })
        const other = yield* Effect.scoped(
          broker.consumer({ groupId: "g", topics: ["t"], fromBeginning: true, partitions: [1] }),
        )
        expect((yield* other.assignment).map((a) => a.partition)).toEqual([1])
        return yield* Effect.result(
          Effect.scoped(broker.consumer({ groupId: "g", topics: ["t"], fromBeginning: true })),
        )
      }),
    )
    expect(second._tag === "Failure" && second.failure._tag).toBe("GroupBusy")
    const again = yield* Effect.scoped(broker.consumer({ groupId: "g", topics: ["t"], fromBeginning: true }))
    expect((yield* again.assignment).length).toBe(2)
  }).pipe(Effect.scoped, Effect.provide(BrokerLayers.layerTest), Effect.runPromise))
