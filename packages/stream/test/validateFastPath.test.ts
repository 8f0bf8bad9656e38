import { expect, setDefaultTimeout, test } from "bun:test"
import { EVENT_TYPES, validate } from "@shop/contract"
import { makeEventStream, Random } from "@shop/generator"
// Internal to the contract package (not its public face): the spec reads it directly.
import { FAST_PATH_FOR, fastPathStale, fastWireCheck, fingerprintHash } from "../../contract/src/fastPath.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const RECORD_TS = Date.parse("2026-11-20T12:00:00Z")
const random = new Random(17)
const edges: Array<unknown> = [
  null,
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 1,
  1e21,
  "",
  "x".repeat(300),
  [],
  {},
  true,
  "\u0000",
  "2026-13-01T00:00:00Z",
  "2026-11-20T11:00:00+01:00",
  "2026-11-20T11:59:60Z",
  "6F1C0F3E-6D7A-4C55-9D2E-2B1F5D4B3A11",
  "6f1c0f3e-6d7a-4c55-9d2e-2b1f5d4b3a1",
  "us",
  "product",
  19.999,
  999_999.99,
  1_000_000,
  100,
  99,
  "desktop",
  "card",
  [{ sku: "S", quantity: 1, unit_price: 1 }],
  [{ sku: "S", quantity: 1 }],
  Array.from({ length: 101 }, () => ({ sku: "S", quantity: 1, unit_price: 1 })),
]

/** Generated events (valid and the generator's own bad ones) and every field of some pushed to each edge. */
const corpus = (): Array<string> => {
  const stream = makeEventStream({
    seed: 5,
    start: Date.parse("2026-11-19T00:00:00Z"),
    eps: 20,
    badRate: 0.1,
    dupRate: 0.01,
    lateRate: 0.05,
    seasonality: false,
  })
  const out: Array<string> = []
  const bases: Array<Record<string, unknown>> = []
  for (let i = 0; i < 20_000; i++) {
    const value = (stream.next().value as { value: string }).value
    out.push(value)
    if (i % 40 === 0) {
      try {
        const e = JSON.parse(value)
        if (typeof e === "object" && e !== null && !Array.isArray(e)) bases.push(e)
      } catch {
        // a generated bad record
      }
    }
  }
  for (const base of bases) {
    const targets: Array<[Record<string, unknown>, string]> = Object.keys(base).map((k) => [base, k])
    const ctx = base.context
    if (typeof ctx === "object" && ctx !== null) {
      for (const k of ["device", "country", "user_agent", "referrer", "utm_source", "utm_medium", "utm_campaign"]) {
        targets.push([ctx as Record<string, unknown>, k])
      }
    }
    const items = base.items
    if (Array.isArray(items) && items.length > 0) for (const k of Object.keys(items[0])) targets.push([items[0], k])
    for (const [obj, key] of targets) {
      const saved = obj[key]
      const had = key in obj
      delete obj[key]
      out.push(JSON.stringify(base))
      for (const edge of random.chance(0.5) ? edges : edges.filter(() => random.chance(0.3))) {
        obj[key] = edge
        out.push(JSON.stringify(base))
      }
      if (had) obj[key] = saved
    }
    out.push(JSON.stringify({ ...base, extra: 1 }))
    out.push(`\ufeff${JSON.stringify(base)}`)
  }
  return out
}

test("each type's fast path was written for its schema as it is (otherwise it is off)", () => {
  const now = Object.fromEntries(EVENT_TYPES.map((t) => [t, fingerprintHash(t)]))
  // On a change to wireSchemas.ts: update the type's check in fastPath.ts, then FAST_PATH_FOR to these.
  expect(now).toEqual(FAST_PATH_FOR)
  expect(fastPathStale).toEqual([])
})

test("the fast path and the schema give the same verdict, code, message and event on the fuzz corpus", () => {
  const values = corpus()
  let fast = 0
  let valid = 0
  for (const value of values) {
    const record = { value, timestamp: RECORD_TS }
    const withFast = validate(record)
    const schemaOnly = validate(record, { schemaOnly: true })
    if (JSON.stringify(withFast) !== JSON.stringify(schemaOnly)) {
      // toEqual first, for a readable diff with the record that differs.
      expect({ value, verdict: withFast }).toEqual({ value, verdict: schemaOnly })
    }
    if (schemaOnly.ok) {
      valid++
      const obj = JSON.parse(value.charCodeAt(0) === 0xfeff ? value.slice(1) : value)
      if (fastWireCheck(obj.event_type, obj) !== undefined) fast++
    } else {
      // Never "valid" by the fast path where the schema rejects.
      try {
        const obj = JSON.parse(value.charCodeAt(0) === 0xfeff ? value.slice(1) : value)
        if (schemaOnly.error.code === "schema_violation" && EVENT_TYPES.includes(obj?.event_type)) {
          expect(fastWireCheck(obj.event_type, obj)).toBeUndefined()
        }
      } catch {
        // not JSON
      }
    }
  }
  expect(values.length).toBeGreaterThan(40_000)
  expect(valid).toBeGreaterThan(15_000)
  // Every valid generated event takes the fast path.
  expect(fast).toBe(valid)
}, 120_000)
