/** Where the processor starts and when it may say "caught up" (embedded broker; the Kafka cases are in kafka.test.ts). */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Lake } from "@shop/lake"
import { collectLogs } from "@shop/runtime"
import { Effect, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "stream-resume-"))
  dirs.push(d)
  return d
}
const event = (i: number) =>
  JSON.stringify({
    event_id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    event_type: "page_view",
    event_ts: "2026-11-20T10:00:00.000Z",
    session_id: `s-${i % 7}`,
    user_id: null,
    page: "/",
  })

describe("stream processor: resume and --available-now", () => {
  test("records the broker deleted before the lake got them fail the start with RecordsLost, never skipped silently", async () => {
    const dir = tempDir()
    const layers = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker"), { segmentBytes: 4096 }), Lake.layerAt(dir))
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const broker = yield* Broker
        // Retention by size keeps only the newest segments: the log no longer starts at 0.
        yield* broker.createTopic({ name: TOPIC_RAW, partitions: 1, retentionBytes: 8192 })
        for (let i = 0; i < 10; i++) {
          yield* broker.produce(
            TOPIC_RAW,
            Array.from({ length: 50 }, (_, j) => ({ key: null, value: event(i * 50 + j) })),
          )
        }
        const [start] = yield* broker.startOffsets(TOPIC_RAW)
        expect(start!.offset).toBeGreaterThan(0)
        return yield* Effect.result(runStreamProcessor({ availableNow: true }))
      }).pipe(Effect.provide(layers)),
    )
    expect(result._tag).toBe("Failure")
    if (result._tag === "Failure") {
      expect(result.failure._tag).toBe("RecordsLost")
      expect(result.failure.message).toMatch(
        /^events\.raw\/0: the lake's commit log resumes at offset 0 but the broker keeps offsets from \d+ on/,
      )
    }
  })

  test("--available-now owning no partition fails with one clear line instead of saying caught up", async () => {
    const dir = tempDir()
    const layers = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))
    const lines: Array<string> = []
    const result = await Effect.runPromise(
      Effect.result(runStreamProcessor({ availableNow: true, partitions: [] })).pipe(
        Effect.provide(Layer.mergeAll(layers, collectLogs(lines))),
      ),
    )
    expect(result._tag === "Failure" && result.failure._tag).toBe("NotCaughtUp")
    if (result._tag === "Failure")
      expect(result.failure.message).toContain("gave this member no partition of events.raw")
    expect(lines.some((l) => l.includes("caught up"))).toBe(false)
  })
})
