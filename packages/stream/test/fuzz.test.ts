import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt, type ProducerRecord } from "@shop/broker"
import { DLQ_CODES, TOPIC_RAW } from "@shop/contract"
import { makeEventStream, Random } from "@shop/generator"
import { Lake } from "@shop/lake"
import { Effect, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"
import { duckdb } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "stream-fuzz-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const layers = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))

const N = 10_000
const random = new Random(99)
const valid = makeEventStream({ seed: 3, start: Date.parse("2026-11-20T00:00:00Z"), eps: 20, seasonality: false })
const nextValid = () => JSON.parse((valid.next().value as { value: string }).value) as Record<string, unknown>

const garbage: Array<() => string | Uint8Array> = [
  // Random bytes, mostly invalid UTF-8.
  () => Uint8Array.from({ length: random.int(0, 300) }, () => random.int(0, 255)),
  // Truncated and bit-flipped JSON.
  () => JSON.stringify(nextValid()).slice(0, random.int(0, 200)),
  () => {
    const text = JSON.stringify(nextValid())
    const i = random.int(0, text.length - 1)
    return text.slice(0, i) + String.fromCharCode(random.int(0, 0xffff)) + text.slice(i + 1)
  },
  // Huge and odd numbers where money and counts go.
  () => JSON.stringify({ ...nextValid(), schema_version: random.pick([1e308, -0, 1.0000001, 2 ** 53 + 1]) }),
  () => `{"schema_version":1,"event_type":"add_to_cart","quantity":1e400,"unit_price":${"9".repeat(400)}}`,
  // Deep nesting.
  () => "[".repeat(random.int(1_000, 200_000)) + "]".repeat(random.int(0, 10)),
  () => `{"a":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`,
  // Very long strings (over the 64 KiB contract limit; one in ten is 1 MB, to keep the spec quick).
  () => JSON.stringify({ ...nextValid(), query: "q".repeat(random.chance(0.1) ? 1_000_000 : 70_000) }),
  // Wrong types everywhere.
  () => {
    const e = nextValid()
    const key = random.pick(Object.keys(e))
    e[key] = random.pick([null, 42, "x", [], {}, true, -1, 1e21])
    return JSON.stringify(e)
  },
  // Missing fields, other JSON values, control characters, an empty record.
  () => {
    const e = nextValid()
    delete e[random.pick(Object.keys(e))]
    return JSON.stringify(e)
  },
  () => random.pick(["null", "true", "42", '"str"', "[]", "{}", "", " ", "\u0000", '{"schema_version":1}']),
  // Still valid events: fuzzing must not reject what is fine.
  () => JSON.stringify(nextValid()),
]

test(`${N} random and mutated payloads: each ends in Silver or the DLQ with a code; the processor never stops`, async () => {
  const records: Array<ProducerRecord> = []
  for (let i = 0; i < N; i++) {
    const value = random.pick(garbage)()
    records.push({ key: `fuzz-${i % 97}`, value, timestamp: Date.parse("2026-11-20T12:00:00Z") })
  }
  const summary = await Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureDefaultTopics
      const broker = yield* Broker
      for (let i = 0; i < records.length; i += 500) yield* broker.produce(TOPIC_RAW, records.slice(i, i + 500))
      return yield* runStreamProcessor({ availableNow: true, maxBatchRecords: 2_000 })
    }).pipe(Effect.provide(layers)),
  )
  expect(summary.recordsIn).toBe(N)
  const silver = Object.values(summary.silverRows).reduce((a, b) => a + b, 0)
  const dlq = Object.values(summary.dlq).reduce((a, b) => a + b, 0)
  expect(silver + dlq + summary.duplicates).toBe(N)
  expect(dlq).toBeGreaterThan(N * 0.7)
  expect(silver).toBeGreaterThan(N * 0.05)
  for (const code of Object.keys(summary.dlq)) expect(DLQ_CODES).toContain(code as never)

  const db = await duckdb(dir)
  try {
    expect(await db.count("bronze/events")).toBe(N)
    const [codes] = await db.rows(
      `select count(*)::INTEGER as n, count(error_code)::INTEGER as coded, count(error_message)::INTEGER as explained from ${db.glob("bronze/dlq")}`,
    )
    expect(codes).toEqual({ n: dlq, coded: dlq, explained: dlq })
    // Invalid UTF-8 payloads keep their exact bytes.
    const [bytes] = await db.rows(
      `select count(*)::INTEGER as n from ${db.glob("bronze/events")} where value_bytes is not null`,
    )
    expect(bytes!.n).toBeGreaterThan(0)
  } finally {
    db.close()
  }
}, 120_000)
