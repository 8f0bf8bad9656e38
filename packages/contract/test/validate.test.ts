import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { DLQ_CODES, type DlqCode, FUTURE_TOLERANCE_MS, MAX_RECORD_BYTES, validate } from "../src/index.ts"
import { line, RECORD_TS, samples } from "./fixtures.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const check = (value: string | Uint8Array, timestamp = RECORD_TS, options = {}) =>
  validate({ value, timestamp }, options)
const rejected = (value: string | Uint8Array, timestamp = RECORD_TS) => {
  const r = check(value, timestamp)
  if (r.ok) throw new Error(`expected a rejection of ${String(value).slice(0, 200)}`)
  return r.error
}
const accepted = (value: string | Uint8Array, timestamp = RECORD_TS) => {
  const r = check(value, timestamp)
  if (!r.ok) throw new Error(`expected acceptance, got ${r.error.code}: ${r.error.message}`)
  return r.event
}

describe("valid events", () => {
  test.each(Object.entries(samples))("%s is accepted and typed", (type, sample) => {
    const e = accepted(line(sample))
    expect(e.event_type).toBe(type as never)
    expect(e.event_ts_ms).toBe(Date.parse("2026-11-24T17:03:12.345Z"))
    expect(e.event_date).toBe("2026-11-24")
    expect(e.device).toBe("desktop")
    expect(e.utm_source).toBeNull()
  })

  test("money becomes exact cents", () => {
    const e = accepted(line(samples.order_placed))
    if (e.event_type !== "order_placed") throw new Error("type")
    expect(e.items.map((i) => i.unit_price_cents)).toEqual([1999, 10])
    expect([e.subtotal_cents, e.discount_cents, e.shipping_cents, e.tax_cents, e.total_cents]).toEqual([
      4008, 500, 499, 321, 4328,
    ])
  })

  test("bytes and strings give the same answer", () => {
    expect(accepted(new TextEncoder().encode(line(samples.search)))).toEqual(accepted(line(samples.search)))
  })

  test("upper-case UUIDs are accepted and normalised to lower case for dedup", () => {
    const e = accepted(line({ ...samples.search, event_id: "6F1C0F3E-6D7A-4C55-9D2E-2B1F5D4B3A11" }))
    expect(e.event_id).toBe("6f1c0f3e-6d7a-4c55-9d2e-2b1f5d4b3a11")
  })

  test("offsets are honoured and event_date is the UTC date", () => {
    const e = accepted(line({ ...samples.search, event_ts: "2026-11-24T22:33:12.345+05:30" }))
    expect(e.event_ts_ms).toBe(Date.parse("2026-11-24T17:03:12.345Z"))
    const late = accepted(line({ ...samples.search, event_ts: "2026-11-23T23:30:00-01:00" }))
    expect(late.event_date).toBe("2026-11-24")
    const fraction = accepted(line({ ...samples.search, event_ts: "2026-11-24T17:03:12.123456789Z" }))
    expect(fraction.event_ts_ms).toBe(Date.parse("2026-11-24T17:03:12.123Z"))
  })

  test("unknown extra fields are allowed and not carried into the typed event", () => {
    const e = accepted(
      line({ ...samples.search, extra: { nested: true }, context: { ...samples.search.context, x: 1 } }),
    )
    expect("extra" in e).toBe(false)
    expect(Object.keys(e)).not.toContain("x")
  })

  test("optional context fields, null sku on non-product pages, unknown skus", () => {
    const e = accepted(
      line({
        ...samples.page_view,
        page_type: "home",
        sku: null,
        context: { device: "tablet", country: "DE", utm_source: "news", referrer: null },
      }),
    )
    expect(e).toMatchObject({ sku: null, utm_source: "news", referrer: null, country: "DE" })
    const absent = { ...samples.page_view, page_type: "category" } as Record<string, unknown>
    delete absent.sku
    expect(accepted(line(absent))).toMatchObject({ sku: null })
    expect(accepted(line({ ...samples.add_to_cart, sku: "NOT-IN-CATALOG" }))).toMatchObject({ sku: "NOT-IN-CATALOG" })
  })

  test("the shop's currency is configurable", () => {
    const eur = line({ ...samples.add_to_cart, currency: "EUR" })
    expect(check(eur, RECORD_TS, { currency: "EUR" }).ok).toBe(true)
    expect(check(eur).ok).toBe(false)
  })
})

describe("one example per DLQ code", () => {
  const cases: Array<[DlqCode, string | Uint8Array, number?]> = [
    ["invalid_json", '{"schema_version":1,'],
    ["too_large", line({ ...samples.search, pad: "x".repeat(MAX_RECORD_BYTES) })],
    ["schema_violation", line({ ...samples.add_to_cart, quantity: "2" })],
    ["unknown_event_type", line({ ...samples.search, event_type: "wishlist_add" })],
    ["unsupported_schema_version", line({ ...samples.search, schema_version: 2 })],
    ["unsupported_currency", line({ ...samples.add_to_cart, currency: "EUR" })],
    ["invariant_violation", line({ ...samples.order_placed, total: 43.27 })],
    ["future_timestamp", line(samples.search), Date.parse("2026-11-24T16:50:00Z")],
    ["too_late", line(samples.search), Date.parse("2027-01-01T00:00:00Z")],
  ]
  test("covers every code of the contract", () => {
    expect(new Set(cases.map(([c]) => c))).toEqual(new Set(DLQ_CODES))
  })
  test.each(cases.map(([code, value, ts]) => ({ code, value, ts: ts ?? RECORD_TS })))(
    "$code",
    ({ code, value, ts }) => {
      const error = rejected(value, ts)
      expect(error.code).toBe(code)
      expect(error.message.length).toBeGreaterThan(10)
    },
  )
})

describe("rules and boundaries", () => {
  test("64 KiB exactly is accepted by size, one byte more is too_large", () => {
    const base = line({ ...samples.search, pad: "" })
    const exact = base.replace('"pad":""', `"pad":"${"x".repeat(MAX_RECORD_BYTES - base.length)}"`)
    expect(exact.length).toBe(MAX_RECORD_BYTES)
    expect(check(exact).ok).toBe(true)
    expect(rejected(exact.replace('"pad":"', '"pad":"x')).code).toBe("too_large")
    // Size is counted in UTF-8 bytes, not characters.
    const multibyte = line({ ...samples.search, pad: "é".repeat(MAX_RECORD_BYTES / 2) })
    expect(rejected(multibyte).code).toBe("too_large")
  })

  test("invalid UTF-8, empty and non-object records", () => {
    expect(rejected(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ code: "invalid_json" })
    expect(rejected("")).toMatchObject({ code: "invalid_json", message: "record is empty" })
    expect(rejected("[1,2]")).toMatchObject({ code: "schema_violation", message: "expected a JSON object, got array" })
    expect(rejected("42").code).toBe("schema_violation")
    expect(rejected("null").code).toBe("schema_violation")
  })

  test("schema_version missing or not an integer is a schema violation", () => {
    const { schema_version: _, ...noVersion } = samples.search
    expect(rejected(line(noVersion))).toMatchObject({ code: "schema_violation", path: "schema_version" })
    expect(rejected(line({ ...samples.search, schema_version: "1" }))).toMatchObject({ code: "schema_violation" })
    expect(rejected(line({ ...samples.search, schema_version: 1.5 }))).toMatchObject({ code: "schema_violation" })
    expect(rejected(line({ ...samples.search, schema_version: 0 })).code).toBe("unsupported_schema_version")
  })

  test("event_type missing is a schema violation, unknown lists the known types", () => {
    const { event_type: _, ...noType } = samples.search
    expect(rejected(line(noType))).toMatchObject({ code: "schema_violation", path: "event_type" })
    expect(rejected(line({ ...samples.search, event_type: "Page_View" })).message).toContain("page_view")
  })

  test("schema messages name the path, what was expected and what was got", () => {
    const bad = { ...samples.order_placed, items: [{ sku: "SKU-1", quantity: 0, unit_price: 19.99 }] }
    const e = rejected(line(bad))
    expect(e).toMatchObject({ code: "schema_violation", path: "items.0.quantity" })
    expect(e.message).toContain("items.0.quantity")
    expect(e.message).toContain("got 0")
    expect(e.message).toMatch(/between 1 and 99/)
    const missing = { ...samples.add_to_cart } as Record<string, unknown>
    delete missing.sku
    expect(rejected(line(missing))).toMatchObject({ path: "sku" })
    expect(rejected(line(missing)).message).toContain("missing")
  })

  test.each([
    ["event_id not a UUID", { event_id: "not-a-uuid" }, "event_id"],
    ["event_ts without offset", { event_ts: "2026-11-24T17:03:12" }, "event_ts"],
    ["event_ts with a space", { event_ts: "2026-11-24 17:03:12Z" }, "event_ts"],
    ["event_ts on Feb 30", { event_ts: "2026-02-30T10:00:00Z" }, "event_ts"],
    ["anonymous_id empty", { anonymous_id: "" }, "anonymous_id"],
    ["session_id too long", { session_id: "s".repeat(65) }, "session_id"],
    ["user_id a number", { user_id: 7 }, "user_id"],
    ["device unknown", { context: { device: "tv", country: "US" } }, "context.device"],
    ["country lower case", { context: { device: "mobile", country: "us" } }, "context.country"],
    ["query too long", { query: "q".repeat(201) }, "query"],
    ["query empty", { query: "" }, "query"],
    ["results_count negative", { results_count: -1 }, "results_count"],
  ])("%s", (_name, patch, path) => {
    expect(rejected(line({ ...samples.search, ...patch }))).toMatchObject({ code: "schema_violation", path })
  })

  test("sku is required on a product page view", () => {
    const { sku: _, ...noSku } = samples.page_view
    expect(rejected(line(noSku))).toMatchObject({ code: "schema_violation", path: "sku" })
    expect(rejected(line({ ...samples.page_view, sku: null })).code).toBe("schema_violation")
  })

  test("enums of page_type and payment_method", () => {
    expect(rejected(line({ ...samples.page_view, page_type: "blog" })).path).toBe("page_type")
    expect(rejected(line({ ...samples.order_placed, payment_method: "crypto" })).path).toBe("payment_method")
  })

  test.each([
    [0, true],
    [0.1, true],
    [19.99, true],
    [999999.99, true],
    [1000000, false],
    [1.005, false],
    [0.001, false],
    [-0.01, false],
  ])("money %p accepted: %p", (price, ok) => {
    expect(check(line({ ...samples.add_to_cart, unit_price: price })).ok).toBe(ok)
  })

  test("money as a string or with an exponent too small is rejected", () => {
    expect(rejected(line({ ...samples.add_to_cart, unit_price: "19.99" })).path).toBe("unit_price")
    expect(rejected('{"schema_version":1,"event_type":"checkout_started","cart_value":1e-7}').code).toBe(
      "schema_violation",
    )
  })

  test("quantities and item counts", () => {
    expect(rejected(line({ ...samples.add_to_cart, quantity: 100 })).path).toBe("quantity")
    expect(rejected(line({ ...samples.add_to_cart, quantity: 1.5 })).path).toBe("quantity")
    expect(rejected(line({ ...samples.checkout_started, item_count: 0 })).path).toBe("item_count")
    expect(rejected(line({ ...samples.order_placed, items: [] })).path).toBe("items")
    const many = Array.from({ length: 101 }, () => ({ sku: "S", quantity: 1, unit_price: 1 }))
    expect(rejected(line({ ...samples.order_placed, items: many })).path).toBe("items")
    expect(rejected(line({ ...samples.order_returned, items: [{ sku: "S" }] })).path).toBe("items.0.quantity")
  })

  test("order invariants: subtotal and total, to the cent", () => {
    const sub = rejected(line({ ...samples.order_placed, subtotal: 40.07, total: 43.27 }))
    expect(sub).toMatchObject({ code: "invariant_violation", path: "subtotal" })
    expect(sub.message).toContain("40.07")
    expect(sub.message).toContain("40.08")
    const total = rejected(line({ ...samples.order_placed, total: 43.29 }))
    expect(total).toMatchObject({ code: "invariant_violation", path: "total" })
    expect(total.message).toContain("43.28")
  })

  test("currency applies to every money-carrying type", () => {
    for (const t of ["add_to_cart", "checkout_started", "order_placed", "order_returned"] as const) {
      expect(rejected(line({ ...samples[t], currency: "GBP" })).code).toBe("unsupported_currency")
    }
  })

  test("future: exactly 5 minutes ahead is accepted, 1 ms more is rejected", () => {
    const ts = Date.parse(samples.search.event_ts)
    expect(check(line(samples.search), ts - FUTURE_TOLERANCE_MS).ok).toBe(true)
    expect(rejected(line(samples.search), ts - FUTURE_TOLERANCE_MS - 1).code).toBe("future_timestamp")
  })

  test("lateness: exactly MAX_LATENESS is accepted, 1 ms more is too_late, and it is configurable", () => {
    const ts = Date.parse(samples.search.event_ts)
    const thirtyDays = 30 * 86_400_000
    expect(check(line(samples.search), ts + thirtyDays).ok).toBe(true)
    expect(rejected(line(samples.search), ts + thirtyDays + 1).code).toBe("too_late")
    expect(check(line(samples.search), ts + 2 * 86_400_000, { maxLatenessMs: 86_400_000 }).ok).toBe(false)
  })

  test("each record gets one deterministic code (earlier checks win)", () => {
    // Unsupported version and a bad field: the version is reported.
    expect(rejected(line({ ...samples.add_to_cart, schema_version: 2, quantity: 0 })).code).toBe(
      "unsupported_schema_version",
    )
    // Bad schema and wrong currency: the schema is reported.
    expect(rejected(line({ ...samples.add_to_cart, currency: "EUR", quantity: 0 })).code).toBe("schema_violation")
    // Broken invariant and too late: the invariant is reported.
    expect(rejected(line({ ...samples.order_placed, total: 1 }), Date.parse("2027-06-01T00:00:00Z")).code).toBe(
      "invariant_violation",
    )
  })
})

describe("edges found by fault injection (issue 12)", () => {
  const bom = (text: string) => new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)])

  test("a leading BOM is skipped for parsing but counted in the size", () => {
    expect(accepted(bom(line(samples.search))).event_type).toBe("search")
    const body = line(samples.search)
    const pad = MAX_RECORD_BYTES - body.length - 8
    const exact = `${body.slice(0, -1)},"p":"${"x".repeat(pad)}"}`
    expect(new TextEncoder().encode(exact).byteLength).toBe(MAX_RECORD_BYTES - 1)
    expect(accepted(exact).event_type).toBe("search")
    // The same record behind a BOM is 2 bytes over the limit.
    expect(rejected(bom(exact)).code).toBe("too_large")
  })

  test("integers must be safe (exact in JSON); 2^31 is fine", () => {
    const big = 2 ** 31
    const e = accepted(line({ ...samples.search, results_count: big }))
    expect(e.event_type === "search" && e.results_count).toBe(big)
    const unsafe = `${line({ ...samples.checkout_started, item_count: 1 }).slice(0, -1)},"item_count":9007199254740993}`
    const r = rejected(unsafe)
    expect(r.code).toBe("schema_violation")
    expect(r.path).toBe("item_count")
    expect(r.message).toContain("safe integer")
  })

  test("years 0000-0099 are those years, not 1900-1999", () => {
    const ts = "0050-03-01T12:00:00Z"
    const r = check(line({ ...samples.page_view, event_ts: ts }), Date.parse("2026-01-01T00:00:00Z"), {
      maxLatenessMs: 1e15,
    })
    if (!r.ok) throw new Error(r.error.message)
    expect(new Date(r.event.event_ts_ms).toISOString()).toBe("0050-03-01T12:00:00.000Z")
    expect(r.event.event_date).toBe("0050-03-01")
  })

  test("a leap second gets its own message", () => {
    const r = rejected(line({ ...samples.page_view, event_ts: "2026-12-31T23:59:60Z" }))
    expect(r.code).toBe("schema_violation")
    expect(r.message).toContain("leap second")
  })
})

test("a schema_version that is not a safe integer is a schema violation, not an unsupported version", () => {
  const r = rejected(`${line(samples.search).slice(0, -1)},"schema_version":9007199254740993}`)
  expect([r.code, r.path]).toEqual(["schema_violation", "schema_version"])
})
