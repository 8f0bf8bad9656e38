import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layerEmbeddedAt } from "@shop/broker"
import { emptyStats, httpSink, runGenerator, sumDlq, sumValid } from "@shop/generator"
import { Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { Effect, Layer, ManagedRuntime } from "effect"
import { arrayElements, CollectorServer, MAX_EVENT_BYTES } from "../src/index.ts"
import { readRaw as readRawRecords } from "./readRaw.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "collector-"))
const ORIGIN = "https://shop.example"
const brokerLayer = layerEmbeddedAt(join(dir, "broker"))
const runtime = ManagedRuntime.make(
  Layer.mergeAll(
    brokerLayer,
    Lake.layerAt(dir),
    CollectorServer.layer({ port: 0, allowedOrigins: [ORIGIN] }).pipe(Layer.provide(brokerLayer)),
  ),
)
afterAll(async () => {
  await runtime.dispose()
  rmSync(dir, { recursive: true, force: true })
})
const server = Effect.gen(function* () {
  return yield* CollectorServer
})
const url = async (path: string) => `${(await runtime.runPromise(server)).url}${path}`
const post = async (body: string, contentType = "application/json", headers: Record<string, string> = {}) =>
  fetch(await url("/v1/events"), { method: "POST", headers: { "content-type": contentType, ...headers }, body })

const readRaw = () => runtime.runPromise(readRawRecords)

describe("HTTP collector", () => {
  test("a JSON array: 202 with the count, each event's bytes kept in events.raw (ingest appended), keyed by session_id", async () => {
    const events = [
      '{"event_id":"a1","session_id":"s-1","price":10.10,"nested":{"x":[1,2,{"y":"]}"}]}}',
      '{ "session_id" : "s-2",  "note": "comma, \\"quote\\" and ]" }',
      '"not an object"',
    ]
    const response = await post(`[\n  ${events.join(" ,\n  ")}\n]`, "application/json", { origin: ORIGIN })
    expect(response.status).toBe(202)
    expect(await response.json()).toEqual({ accepted: 3 })
    expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    const raw = await readRaw()
    const got = raw.map((r) => ({ key: r.key, text: new TextDecoder().decode(r.value) }))
    // A browser's events (an Origin) are not keyed; objects without a context need no country, so the client's
    // bytes stay as written (10.10, spacing, key order) with the collector's field after them.
    const stamped = (e: string) => `${e.slice(0, e.lastIndexOf("}"))},"ingest":{"keyed":false}}`
    const expected = [stamped(events[0]!), stamped(events[1]!), events[2]!]
    expect(got.map((g) => g.text).sort()).toEqual(expected.sort())
    expect(got.find((g) => g.text === stamped(events[0]!))!.key).toBe("s-1")
    expect(got.find((g) => g.text === events[2])!.key).toBeNull()
  })

  test("NDJSON: one event per non-empty line, also lines the stream will reject", async () => {
    const before = (await readRaw()).length
    const response = await post('{"session_id":"s-3","n":1}\n\n{not json\n', "application/x-ndjson")
    expect(response.status).toBe(202)
    expect(await response.json()).toEqual({ accepted: 2 })
    const raw = await readRaw()
    expect(raw.length).toBe(before + 2)
    expect(raw.map((r) => new TextDecoder().decode(r.value))).toContain("{not json")
  })

  test("limits and malformed requests: a clear 4xx and nothing produced", async () => {
    const before = (await readRaw()).length
    const big = `{"session_id":"s","pad":"${"x".repeat(MAX_EVENT_BYTES)}"}`
    const cases: Array<[Response, number, string]> = [
      [await post(`[${big}]`), 413, "per event"],
      [
        await post(`[${Array.from({ length: 2_000 }, () => `{"pad":"${"y".repeat(600)}"}`).join(",")}]`),
        413,
        "limit is 1048576",
      ],
      [await post("[{]"), 400, "not valid JSON"],
      [await post('{"session_id":"s"}'), 400, "expected a JSON array"],
      [await post("[]"), 400, "no events"],
      [await post("a,b", "text/csv"), 415, "unsupported content-type"],
    ]
    for (const [response, status, message] of cases) {
      expect(response.status).toBe(status)
      expect(((await response.json()) as { error: string }).error).toContain(message)
    }
    expect((await readRaw()).length).toBe(before)
  })

  test("CORS: preflight for the shop's origin only; health and metrics", async () => {
    const preflight = (origin: string) =>
      url("/v1/events").then((u) =>
        fetch(u, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } }),
      )
    const ok = await preflight(ORIGIN)
    expect(ok.status).toBe(204)
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST")
    expect((await preflight("https://evil.example")).status).toBe(403)
    expect(await (await fetch(await url("/health"))).json()).toEqual({ status: "ok" })
    const metrics = await (await fetch(await url("/metrics"))).text()
    expect(metrics).toMatch(/shop_collector_events_accepted_total 5\b/)
    expect(metrics).toMatch(/shop_collector_requests_total\{status="413"\} 2\b/)
  })

  test("arrayElements returns each element's source text", () => {
    const values = [1, -2.5e3, "s,]", null, true, [1, [2, "]"]], { a: { b: [3, "}"] } }, "\u00e9\\"]
    const text = `[ ${values.map((v) => JSON.stringify(v, null, 1)).join(" , ")} ]`
    expect(arrayElements(text).map((t) => JSON.parse(t))).toEqual(values)
  })

  test("generator --sink http -> collector -> events.raw -> stream processor: Silver holds what was generated", async () => {
    const stats = emptyStats()
    const before = (await readRaw()).length
    const sink = httpSink((await url("/")).replace(/\/$/, ""))
    await Effect.runPromise(
      runGenerator({ seed: 9, eps: 5_000, badRate: 0.03, dupRate: 0.02, lateRate: 0, maxEvents: 3_000 }, sink, stats),
    )
    expect(stats.records).toBe(3_000)
    // Injected oversized events are refused by the collector (413) instead of reaching the DLQ.
    const refused = stats.dlq.too_large ?? 0
    expect(refused).toBeGreaterThan(0)
    expect((await readRaw()).length).toBe(before + 3_000 - refused)
    const summary = await runtime.runPromise(runStreamProcessor({ availableNow: true }))
    // The earlier tests' hand-written records are in events.raw too: they go to Silver or the DLQ as well.
    const silver = Object.values(summary.silverRows).reduce((a, b) => a + b, 0)
    const dlq = Object.values(summary.dlq).reduce((a, b) => a + b, 0)
    expect(summary.recordsIn).toBe(before + 3_000 - refused)
    expect(silver - (summary.silverRows.order_item ?? 0) - (summary.silverRows.return_item ?? 0)).toBe(sumValid(stats))
    expect(dlq).toBe(sumDlq(stats) - refused + before)
    expect(summary.duplicates).toBe(stats.duplicates)
  }, 60_000)
})
