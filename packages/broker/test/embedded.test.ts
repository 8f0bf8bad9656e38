import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Layer, type Scope } from "effect"
import { Broker, BrokerLayers, ensureDefaultTopics, layerEmbeddedAt } from "../src/index.ts"
import { brokerContractSuite } from "./contract/brokerContractSuite.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "broker-test-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const shared = tempDir()
brokerContractSuite("embedded", () => layerEmbeddedAt(shared))

const inDir = <A, E>(dir: string, effect: Effect.Effect<A, E, Broker | Scope.Scope>, options = {}) =>
  Effect.runPromise(effect.pipe(Effect.scoped, Effect.provide(layerEmbeddedAt(dir, options))) as Effect.Effect<A, E>)

const values = (topic: string, n: number, groupId = `g-${Math.random()}`) =>
  Effect.gen(function* () {
    const broker = yield* Broker
    const c = yield* broker.consumer({ groupId, topics: [topic], fromBeginning: true })
    const out: Array<string> = []
    for (let i = 0; i < 50 && out.length < n; i++) {
      const rs = yield* c.poll({ maxRecords: n - out.length, maxWaitMs: 20 })
      out.push(...rs.map((r) => new TextDecoder().decode(r.value)))
    }
    return out
  })

describe("embedded broker", () => {
  test("data survives closing and reopening the log", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 2 })
        yield* b.produce("t", [
          { key: "a", value: "1" },
          { key: "b", value: "2" },
        ])
      }),
    )
    const got = await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.produce("t", [{ key: "a", value: "3" }])
        return yield* values("t", 3)
      }),
    )
    expect(got.sort()).toEqual(["1", "2", "3"])
  })

  test("a torn tail (crash mid-write) is truncated on open; everything before it is intact", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        yield* b.produce(
          "t",
          Array.from({ length: 10 }, (_, i) => ({ key: null, value: `v${i}` })),
        )
      }),
    )
    const segment = join(dir, "topics", "t", "0", "00000000000000000000.log")
    const whole = statSync(segment).size
    // A half-written record, then garbage: what a power cut in the middle of a write can leave.
    truncateSync(segment, whole - 3)
    appendFileSync(segment, new Uint8Array([1, 2, 3, 4, 5, 6, 7]))
    const got = await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        expect((yield* b.endOffsets("t"))[0]!.offset).toBe(9)
        yield* b.produce("t", [{ key: null, value: "after" }])
        return yield* values("t", 10)
      }),
    )
    expect(got).toEqual([...Array.from({ length: 9 }, (_, i) => `v${i}`), "after"])
  })

  test("a corrupt byte inside the last record is detected by its checksum", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        yield* b.produce("t", [
          { key: null, value: "keep" },
          { key: null, value: "flip" },
        ])
      }),
    )
    const segment = join(dir, "topics", "t", "0", "00000000000000000000.log")
    const buf = new Uint8Array(await Bun.file(segment).arrayBuffer())
    buf[buf.length - 1] = buf[buf.length - 1]! ^ 0xff
    writeFileSync(segment, buf)
    const got = await inDir(dir, values("t", 2))
    expect(got).toEqual(["keep"])
  })

  test("segments roll at the size limit and reads cross them", async () => {
    const dir = tempDir()
    const got = await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        for (let i = 0; i < 20; i++) yield* b.produce("t", [{ key: null, value: `r${i}-${"x".repeat(100)}` }])
        return yield* values("t", 20)
      }),
      { segmentBytes: 500 },
    )
    expect(got.map((v) => v.split("-")[0])).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`))
    expect(readdirSync(join(dir, "topics", "t", "0")).filter((f) => f.endsWith(".log")).length).toBeGreaterThan(3)
  })

  test("retention by size deletes whole old segments and moves the start offset", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1, retentionBytes: 1000 })
        for (let i = 0; i < 40; i++) yield* b.produce("t", [{ key: null, value: "y".repeat(100) }])
        const [start] = yield* b.startOffsets("t")
        const [end] = yield* b.endOffsets("t")
        expect(start!.offset).toBeGreaterThan(0)
        expect(end!.offset).toBe(40)
        // A consumer positioned before the start reads from the start.
        const got = yield* values("t", 40)
        expect(got.length).toBe(40 - start!.offset)
      }),
      { segmentBytes: 300 },
    )
  })

  test("retention by age deletes segments older than retentionMs", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1, retentionMs: 60_000 })
        for (let i = 0; i < 5; i++) yield* b.produce("t", [{ key: null, value: "z".repeat(100) }])
      }),
      { segmentBytes: 150 },
    )
    const partitionDir = join(dir, "topics", "t", "0")
    const old = (Date.now() - 3_600_000) / 1000
    for (const f of readdirSync(partitionDir).filter((f) => f.endsWith(".log")))
      utimesSync(join(partitionDir, f), old, old)
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        // Opening applies retention; only the active segment survives.
        expect((yield* b.startOffsets("t"))[0]!.offset).toBe(4)
        expect((yield* b.endOffsets("t"))[0]!.offset).toBe(5)
      }),
      { segmentBytes: 150 },
    )
  })

  test("a second live member of a group is refused with GroupBusy; it may join once the first leaves", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true })
            const second = yield* Effect.result(b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true }))
            expect(second._tag).toBe("Failure")
            if (second._tag === "Failure") {
              expect(second.failure._tag).toBe("GroupBusy")
              expect(second.failure.message).toContain("one member")
            }
          }),
        )
        const again = yield* Effect.result(b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true }))
        expect(again._tag).toBe("Success")
      }),
    )
  })

  test("static assignment splits a topic's partitions between members; offsets of both are kept", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 3 })
        yield* b.produce(
          "t",
          [0, 1, 2].map((partition) => ({ key: null, value: `p${partition}`, partition })),
        )
        const a = yield* b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true, partitions: [0, 2] })
        const c = yield* b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true, partitions: [1] })
        expect((yield* a.assignment).map((x) => x.partition)).toEqual([0, 2])
        const fromA = yield* a.poll({ maxRecords: 10, maxWaitMs: 50 })
        const fromC = yield* c.poll({ maxRecords: 10, maxWaitMs: 50 })
        expect(fromA.map((r) => r.partition).sort()).toEqual([0, 2])
        expect(fromC.map((r) => r.partition)).toEqual([1])
        yield* a.commit([{ topic: "t", partition: 0, offset: 1 }])
        yield* c.commit([{ topic: "t", partition: 1, offset: 1 }])
        expect((yield* b.committedOffsets("g", "t")).map((o) => o.partition)).toEqual([0, 1])
        const overlap = yield* Effect.result(
          b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true, partitions: [2] }),
        )
        expect(overlap._tag === "Failure" && overlap.failure._tag).toBe("GroupBusy")
      }),
    )
  })

  test("a 1 MiB random value round-trips byte for byte; records over the limit are rejected with a typed error", async () => {
    const dir = tempDir()
    const big = crypto.getRandomValues(new Uint8Array(1024 * 1024 + 1))
    const result = await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        yield* b.produce("t", [
          { key: null, value: "small" },
          { key: "k", value: big },
          { key: null, value: "after" },
        ])
        const c = yield* b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true })
        // One record at a time: the big one is larger than any read chunk sized for one record.
        const got = []
        for (let i = 0; i < 3; i++) got.push(...(yield* c.poll({ maxRecords: 1, maxWaitMs: 10 })))
        expect(got.map((r) => r.offset)).toEqual([0, 1, 2])
        expect(Buffer.from(got[1]!.value).equals(Buffer.from(big))).toBe(true)
        expect(new TextDecoder().decode(got[2]!.value)).toBe("after")
        return yield* Effect.result(b.produce("t", [{ key: null, value: new Uint8Array(2 * 1024 * 1024 + 1) }]))
      }),
    )
    expect(result._tag === "Failure" && result.failure._tag).toBe("RecordRejected")
  })

  test("BrokerLayers.layerEmbedded keeps its log under $DATA_DIR/broker; ensureDefaultTopics makes the pipeline's topics", async () => {
    const dir = tempDir()
    const config = ConfigProvider.layer(ConfigProvider.fromEnvRecord({ DATA_DIR: dir }))
    const topics = await Effect.runPromise(
      Effect.gen(function* () {
        yield* ensureDefaultTopics
        yield* ensureDefaultTopics
        return yield* (yield* Broker).listTopics
      }).pipe(Effect.provide(BrokerLayers.layerEmbedded.pipe(Layer.provide(config)))),
    )
    expect(topics).toEqual([
      { name: "events.dlq", partitions: 1 },
      { name: "events.raw", partitions: 3 },
    ])
    expect(existsSync(join(dir, "broker", "topics", "events.raw", "topic.json"))).toBe(true)
  })

  test("seeks land on the exact record anywhere in a multi-segment partition, also after reopening", async () => {
    const dir = tempDir()
    const n = 10_000
    const value = (i: number) => `${i}:${"s".repeat(i % 700)}`
    const produce = Effect.gen(function* () {
      const b = yield* Broker
      yield* b.createTopic({ name: "t", partitions: 1 })
      for (let i = 0; i < n; i += 1000) {
        yield* b.produce(
          "t",
          Array.from({ length: 1000 }, (_, j) => ({ key: null, value: value(i + j) })),
        )
      }
    })
    const seekAll = Effect.gen(function* () {
      const c = yield* (yield* Broker).consumer({ groupId: "seek", topics: ["t"], fromBeginning: true })
      for (const offset of [
        0,
        1,
        999,
        1000,
        1234,
        5047,
        9999,
        ...Array.from({ length: 30 }, () => (Math.random() * n) | 0),
      ]) {
        yield* c.seek({ topic: "t", partition: 0, offset })
        const [r] = yield* c.poll({ maxRecords: 1, maxWaitMs: 10 })
        expect([offset, r?.offset, r && new TextDecoder().decode(r.value)]).toEqual([offset, offset, value(offset)])
      }
    })
    // About 3.9 MB in 1 MiB segments: several segments, each with several sparse index entries.
    await inDir(dir, Effect.andThen(produce, seekAll), { segmentBytes: 1024 * 1024 })
    await inDir(dir, seekAll, { segmentBytes: 1024 * 1024 })
    expect(readdirSync(join(dir, "topics", "t", "0")).filter((f) => f.endsWith(".log")).length).toBeGreaterThan(2)
  })

  test("damage inside a closed segment is a typed BrokerStorageError, not a silent stall", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        for (let i = 0; i < 10; i++) yield* b.produce("t", [{ key: null, value: `r${i}-${"x".repeat(100)}` }])
      }),
      { segmentBytes: 300 },
    )
    const first = join(dir, "topics", "t", "0", "00000000000000000000.log")
    const buf = new Uint8Array(await Bun.file(first).arrayBuffer())
    buf[buf.length - 5] = buf[buf.length - 5]! ^ 0xff
    writeFileSync(first, buf)
    const result = await inDir(
      dir,
      Effect.gen(function* () {
        const c = yield* (yield* Broker).consumer({ groupId: "g", topics: ["t"], fromBeginning: true })
        return yield* Effect.result(c.poll({ maxRecords: 100, maxWaitMs: 10 }))
      }),
      { segmentBytes: 300 },
    )
    expect(result._tag).toBe("Failure")
    if (result._tag === "Failure") {
      expect(result.failure._tag).toBe("BrokerStorageError")
      expect(result.failure.message).toContain("damaged")
    }
  })

  test("a throw-away group (never committed) leaves no trace once its consumer is gone", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 2 })
        yield* Effect.scoped(b.consumer({ groupId: "console-1", topics: ["t"], fromBeginning: true }))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const c = yield* b.consumer({ groupId: "kept", topics: ["t"], fromBeginning: true })
            yield* c.commit([{ topic: "t", partition: 0, offset: 0 }])
          }),
        )
        expect(yield* b.listGroups).toEqual(["kept"])
      }),
    )
    expect(readdirSync(join(dir, "groups"))).toEqual(["kept"])
  })

  test("a group held by another live process is GroupBusy, and kill -9 of that process frees it", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        yield* (yield* Broker).createTopic({ name: "t", partitions: 1 })
      }),
    )
    const holder = Bun.spawn(["bun", join(import.meta.dir, "fixtures", "groupHolder.ts"), dir], {
      stdout: "pipe",
      stderr: "inherit",
    })
    const tryJoin = Effect.gen(function* () {
      const b = yield* Broker
      return yield* Effect.result(Effect.scoped(b.consumer({ groupId: "g", topics: ["t"], fromBeginning: true })))
    })
    try {
      const { value } = await holder.stdout.getReader().read()
      expect(new TextDecoder().decode(value)).toBe("joined\n")
      const busy = await inDir(dir, tryJoin)
      expect(busy._tag === "Failure" && busy.failure._tag).toBe("GroupBusy")
    } finally {
      holder.kill("SIGKILL")
      await holder.exited
    }
    // No stale lock: the kernel released the dead member's flock.
    const free = await inDir(dir, tryJoin)
    expect(free._tag).toBe("Success")
  })

  test("two processes appending to one partition at once keep offsets dense; a reader meanwhile sees only whole records", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        yield* (yield* Broker).createTopic({ name: "t", partitions: 1 })
      }),
    )
    const writer = join(import.meta.dir, "fixtures", "concurrentWriter.ts")
    const perWriter = 2000
    const procs = ["A", "B"].map((tag) =>
      Bun.spawn(["bun", writer, dir, tag, "100", "20"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" }),
    )
    // Start both at once (process start-up takes longer than the writes).
    for (const p of procs) expect(new TextDecoder().decode((await p.stdout.getReader().read()).value)).toBe("ready\n")
    for (const p of procs) {
      p.stdin.write("go\n")
      await p.stdin.end()
    }
    let writersDone = false
    const exited = Promise.all(procs.map((p) => p.exited)).finally(() => {
      writersDone = true
    })
    // Reads while the writers append: every record it sees is whole, in offset order, without gaps.
    const { got, seenWhileWriting } = await inDir(
      dir,
      Effect.gen(function* () {
        const c = yield* (yield* Broker).consumer({ groupId: "reader", topics: ["t"], fromBeginning: true })
        const got: Array<string> = []
        let seenWhileWriting = 0
        for (let idle = 0; got.length < 2 * perWriter && idle < 100; ) {
          const wasDone = writersDone
          const records = yield* c.poll({ maxRecords: 500, maxWaitMs: 20 })
          for (const r of records) {
            expect(r.offset).toBe(got.length)
            got.push(new TextDecoder().decode(r.value))
          }
          if (!wasDone) seenWhileWriting += records.length
          idle = records.length === 0 && wasDone ? idle + 1 : 0
        }
        return { got, seenWhileWriting }
      }),
    )
    expect(await exited).toEqual([0, 0])
    expect(got.length).toBe(2 * perWriter)
    expect(new Set(got).size).toBe(2 * perWriter)
    for (const tag of ["A", "B"]) {
      const mine = got.filter((v) => v.startsWith(tag)).map((v) => Number(v.slice(2)))
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => i))
    }
    // Both writers really interleaved, and the reader really read during the writes.
    const switches = got.filter((v, i) => i > 0 && v[0] !== got[i - 1]![0]).length
    expect(switches).toBeGreaterThan(2)
    expect(seenWhileWriting).toBeGreaterThan(0)
  })
})

test("BrokerLayers.layerTest is a broker of its own: each use starts empty", async () => {
  const produceOne = Effect.gen(function* () {
    const broker = yield* Broker
    yield* broker.createTopic({ name: "t", partitions: 2 })
    yield* broker.produce("t", [{ key: "k", value: "v" }])
    return (yield* broker.endOffsets("t")).reduce((n, e) => n + e.offset, 0)
  })
  expect(await Effect.runPromise(produceOne.pipe(Effect.provide(BrokerLayers.layerTest)))).toBe(1)
  expect(await Effect.runPromise(produceOne.pipe(Effect.provide(BrokerLayers.layerTest)))).toBe(1)
})
