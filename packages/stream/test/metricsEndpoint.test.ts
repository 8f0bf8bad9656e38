import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { networkInterfaces, tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream, sumDlq, sumValid } from "@shop/generator"
import { Lake } from "@shop/lake"
import { Effect, Layer } from "effect"
import { runStreamProcessor, StreamMetrics, serveStreamMetrics } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "stream-metrics-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `name{labels} value` lines of a Prometheus text page, as a map. */
const parse = (page: string) =>
  new Map(
    page
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => {
        const i = l.lastIndexOf(" ")
        return [l.slice(0, i), Number(l.slice(i + 1))] as const
      }),
  )

describe("Prometheus /metrics of the stream processor", () => {
  test("counts what the generator made: records in, Silver rows, DLQ by code, duplicates, batches, lag", async () => {
    const stats = emptyStats()
    const records: Array<GeneratedRecord> = []
    for (const r of makeEventStream(
      { seed: 4, start: Date.parse("2026-11-01T00:00:00Z"), eps: 2, badRate: 0.05, dupRate: 0.05, lateRate: 0.02 },
      stats,
    )) {
      records.push(r)
      if (records.length === 6_000) break
    }
    const page = await Effect.runPromise(
      Effect.gen(function* () {
        yield* ensureDefaultTopics
        yield* (yield* Broker).produce(TOPIC_RAW, records)
        const metrics = new StreamMetrics()
        const server = yield* serveStreamMetrics(0, metrics)
        yield* runStreamProcessor({ availableNow: true, metrics, maxBatchRecords: 1_000 })
        const response = yield* Effect.promise(() => fetch(`http://localhost:${server.port}/metrics`))
        expect(response.headers.get("content-type")).toContain("text/plain")
        return yield* Effect.promise(() => response.text())
      }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir)))),
    )
    const m = parse(page)
    expect(m.get("shop_stream_records_in_total")).toBe(records.length)
    const dlqTotal = [...m]
      .filter(([k]) => k.startsWith("shop_stream_dlq_records_total{"))
      .reduce((a, [, v]) => a + v, 0)
    expect(dlqTotal).toBe(sumDlq(stats))
    for (const [code, n] of Object.entries(stats.dlq)) {
      if (n > 0) expect(m.get(`shop_stream_dlq_records_total{code="${code}"}`)).toBe(n)
    }
    expect(m.get("shop_stream_duplicates_total")).toBe(records.length - sumValid(stats) - sumDlq(stats))
    expect(m.get('shop_stream_silver_rows_total{table="page_view"}')).toBe(stats.valid.page_view)
    expect(m.get("shop_stream_batch_duration_seconds_count")).toBeGreaterThanOrEqual(6)
    expect([...m.keys()].some((k) => k.startsWith("shop_stream_consumer_lag_records{partition="))).toBe(true)
    expect(m.get("shop_stream_freshness_seconds")).toBeGreaterThan(0)
    expect(m.get("shop_stream_process_resident_memory_bytes")).toBeGreaterThan(10_000_000)
  }, 60_000)

  test("binds 127.0.0.1 by default, another host when given; METRICS_TOKEN guards it", async () => {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address
    if (outside === undefined) throw new Error("this machine has no non-loopback IPv4 address to test binding with")
    const status = async (url: string, headers: Record<string, string> = {}) => {
      try {
        return (await fetch(url, { headers, signal: AbortSignal.timeout(2_000) })).status
      } catch {
        return "refused"
      }
    }
    await Effect.runPromise(
      Effect.gen(function* () {
        const closed = yield* serveStreamMetrics(0, new StreamMetrics())
        expect(closed.listening).toBe(`127.0.0.1:${closed.port} (this machine only)`)
        expect(yield* Effect.promise(() => status(`http://127.0.0.1:${closed.port}/metrics`))).toBe(200)
        expect(yield* Effect.promise(() => status(`http://${outside}:${closed.port}/metrics`))).toBe("refused")
        const open = yield* serveStreamMetrics(0, new StreamMetrics(), { hostname: "0.0.0.0", token: "t-1" })
        const url = `http://${outside}:${open.port}/metrics`
        expect(yield* Effect.promise(() => status(url))).toBe(401)
        expect(yield* Effect.promise(() => status(url, { authorization: "Bearer t-2" }))).toBe(401)
        expect(yield* Effect.promise(() => status(url, { authorization: "Bearer t-1" }))).toBe(200)
      }).pipe(Effect.scoped),
    )
  })
})
