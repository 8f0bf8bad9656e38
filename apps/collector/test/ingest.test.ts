import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { layerEmbeddedAt } from "@shop/broker"
import { validate } from "@shop/contract"
import { Effect, Layer, ManagedRuntime } from "effect"
import { CollectorServer, countryResolver, stampEvent, UNKNOWN_COUNTRY } from "../src/index.ts"
import { readRawEvents } from "./readRaw.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * What the collector adds to the events it accepts (docs/contract/events-v1.md, "What the HTTP collector adds"):
 * `ingest.keyed`, which a browser cannot forge, and `context.country` for events that come without one.
 */
const dir = mkdtempSync(join(tmpdir(), "collector-ingest-"))
const ORIGIN = "https://shop.example"
const KEY = "k".repeat(40)
const brokerLayer = layerEmbeddedAt(join(dir, "broker"))
const runtime = ManagedRuntime.make(
  Layer.mergeAll(
    brokerLayer,
    CollectorServer.layer({
      port: 0,
      allowedOrigins: [ORIGIN],
      writeKeys: [KEY],
      country: { header: "CF-IPCountry" },
    }).pipe(Layer.provide(brokerLayer)),
  ),
)
afterAll(async () => {
  await runtime.dispose()
  rmSync(dir, { recursive: true, force: true })
})
const base = () =>
  runtime.runPromise(
    Effect.gen(function* () {
      return (yield* CollectorServer).url
    }),
  )

/** Every event of events.raw so far, parsed, by event_id. */
const rawById = async () =>
  new Map((await runtime.runPromise(readRawEvents)).map((e) => [e.event_id as string, e] as const))

const event = (
  id: string,
  extra: Record<string, unknown> = {},
  context: Record<string, unknown> = { device: "desktop" },
) => ({
  schema_version: 1,
  event_id: id,
  event_type: "page_view",
  event_ts: "2026-11-24T17:03:12.345Z",
  anonymous_id: "a-1",
  user_id: null,
  session_id: "s-1",
  context,
  page_type: "home",
  page_url: "https://shop.example/",
  ...extra,
})

const post = async (events: ReadonlyArray<unknown>, headers: Record<string, string>) =>
  fetch(`${await base()}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(events),
  })

describe("collector: what it adds to each event", () => {
  test("a browser cannot pass for a keyed sender: its ingest.keyed is false whatever it sent", async () => {
    const response = await post([event("b-forged", { ingest: { keyed: true } }), event("b-plain")], {
      origin: ORIGIN,
      "cf-ipcountry": "DE",
    })
    expect(response.status).toBe(202)
    const raw = await rawById()
    expect(raw.get("b-forged")!.ingest).toEqual({ keyed: false })
    expect(raw.get("b-plain")!.ingest).toEqual({ keyed: false })
  })

  test("the README's server-side order (curl with a write key) is accepted, keyed and valid contract v1", async () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    const body = readme.match(/--data-binary '(\[\{\n[\s\S]*?\}\])'/)?.[1]
    expect(body).toBeDefined()
    const response = await fetch(`${await base()}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: body!,
    })
    expect(response.status).toBe(202)
    const sent = JSON.parse(body!)[0] as { event_id: string; event_ts: string }
    const got = (await rawById()).get(sent.event_id)!
    expect(got.ingest).toEqual({ keyed: true })
    expect((got.context as { country: string }).country).toBe("NL")
    const verdict = validate({ value: JSON.stringify(got), timestamp: Date.parse(sent.event_ts) })
    expect(verdict.ok).toBe(true)
  })

  test("a request with a write key is keyed; a wrong key lands nothing", async () => {
    expect((await post([event("k-1")], { authorization: `Bearer ${KEY}` })).status).toBe(202)
    expect((await post([event("k-wrong")], { authorization: `Bearer ${"x".repeat(40)}` })).status).toBe(401)
    const raw = await rawById()
    expect(raw.get("k-1")!.ingest).toEqual({ keyed: true })
    expect(raw.has("k-wrong")).toBe(false)
  })

  test("country: the proxy header fills a missing one (upper-cased); a sent one is kept; XX falls through to ZZ", async () => {
    await post(
      [
        event("c-missing", {}, { device: "mobile" }),
        event("c-null", {}, { device: "mobile", country: null }),
        event("c-sent", {}, { device: "mobile", country: "FR" }),
      ],
      { origin: ORIGIN, "cf-ipcountry": "de" },
    )
    // No usable header, and the client is 127.0.0.1, which no database places: unknown.
    await post([event("c-unknown", {}, { device: "tablet" })], { origin: ORIGIN, "cf-ipcountry": "XX" })
    const raw = await rawById()
    const country = (id: string) => (raw.get(id)!.context as Record<string, unknown>).country
    expect(country("c-missing")).toBe("DE")
    expect(country("c-null")).toBe("DE")
    expect(country("c-sent")).toBe("FR")
    expect(country("c-unknown")).toBe(UNKNOWN_COUNTRY)
    // The rest of the context is as sent.
    expect((raw.get("c-missing")!.context as Record<string, unknown>).device).toBe("mobile")
  })

  test("the offline database places public addresses (IPv4, IPv6, IPv4-mapped); private ones are ZZ", () => {
    const none = new Headers()
    const byDb = countryResolver({})
    expect(byDb(none, "8.8.8.8")).toBe("US")
    expect(byDb(none, "::ffff:81.2.69.160")).toBe("GB")
    expect(byDb(none, "2a02:8108::1")).toBe("DE")
    expect(byDb(none, "10.1.2.3")).toBe(UNKNOWN_COUNTRY)
    expect(countryResolver({ database: false })(none, "8.8.8.8")).toBe(UNKNOWN_COUNTRY)
    expect(countryResolver({ header: "x-country" })(new Headers({ "x-country": "T1" }), "8.8.8.8")).toBe("US")
  })

  test("stampEvent keeps the client's bytes when it only appends, and leaves non-objects alone", () => {
    const stamp = { keyed: true, country: () => "NL" }
    expect(stampEvent('{"a":10.10}', { a: 10.1 }, stamp)).toBe('{"a":10.10,"ingest":{"keyed":true}}')
    expect(stampEvent("{}", {}, stamp)).toBe('{"ingest":{"keyed":true}}')
    expect(stampEvent("{not json", undefined, stamp)).toBe("{not json")
    expect(stampEvent("[1]", [1], stamp)).toBe("[1]")
    const filled = JSON.parse(stampEvent('{"context":{"device":"desktop"}}', { context: { device: "desktop" } }, stamp))
    expect(filled).toEqual({ context: { device: "desktop", country: "NL" }, ingest: { keyed: true } })
    let asked = 0
    stampEvent(
      '{"context":{"country":"US"}}',
      { context: { country: "US" } },
      { keyed: false, country: () => `${asked++}` },
    )
    expect(asked).toBe(0)
  })

  test("GET /v1/tracker.js: the built tracker, small, cacheable, 304 for its ETag", async () => {
    const response = await fetch(`${await base()}/v1/tracker.js`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("javascript")
    const source = await response.text()
    expect(source).toContain("/v1/events")
    expect(gzipSync(source).length).toBeLessThan(5 * 1024)
    const etag = response.headers.get("etag")!
    expect(etag).toBeTruthy()
    const again = await fetch(`${await base()}/v1/tracker.js`, { headers: { "if-none-match": etag } })
    expect(again.status).toBe(304)
  })
})
