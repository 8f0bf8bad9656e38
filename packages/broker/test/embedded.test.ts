import { afterAll, describe, expect, test } from "bun:test"
import {
  appendFileSync,
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
import { Effect, type Scope } from "effect"
import { Broker, layerEmbeddedAt } from "../src/index.ts"
import { brokerContractSuite } from "./contract/brokerContractSuite.ts"

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

  test("records over the size limit are rejected with a typed error", async () => {
    const dir = tempDir()
    const result = await inDir(
      dir,
      Effect.gen(function* () {
        const b = yield* Broker
        yield* b.createTopic({ name: "t", partitions: 1 })
        const ok = yield* b.produce("t", [{ key: null, value: new Uint8Array(1024 * 1024) }])
        expect(ok).toHaveLength(1)
        return yield* Effect.result(b.produce("t", [{ key: null, value: new Uint8Array(3 * 1024 * 1024) }]))
      }),
    )
    expect(result._tag === "Failure" && result.failure._tag).toBe("RecordRejected")
  })

  test("two processes appending to one partition at once keep offsets dense and lose nothing", async () => {
    const dir = tempDir()
    await inDir(
      dir,
      Effect.gen(function* () {
        yield* (yield* Broker).createTopic({ name: "t", partitions: 1 })
      }),
    )
    const writer = join(import.meta.dir, "fixtures", "concurrentWriter.ts")
    const procs = ["A", "B"].map((tag) =>
      Bun.spawn(["bun", writer, dir, tag, "40", "25"], { stdout: "pipe", stderr: "inherit" }),
    )
    const codes = await Promise.all(procs.map((p) => p.exited))
    expect(codes).toEqual([0, 0])
    const got = await inDir(dir, values("t", 2000))
    expect(got.length).toBe(2000)
    expect(new Set(got).size).toBe(2000)
    for (const tag of ["A", "B"]) {
      const mine = got.filter((v) => v.startsWith(tag)).map((v) => Number(v.slice(2)))
      expect(mine).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    }
  })
})
