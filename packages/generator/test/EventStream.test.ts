import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { validate } from "@shop/contract"
import { emptyStats, FAULTS, type GeneratedRecord, loadCatalog, makeEventStream, sumDlq } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const START = Date.parse("2026-11-20T00:00:00Z")
const take = (n: number, options: Partial<Parameters<typeof makeEventStream>[0]> = {}, stats = emptyStats()) => {
  const stream = makeEventStream({ seed: 7, start: START, eps: 50, seasonality: true, ...options }, stats)
  const out: Array<GeneratedRecord> = []
  for (const r of stream) {
    out.push(r)
    if (out.length >= n) break
  }
  return { records: out, stats }
}

describe("the simulated shop", () => {
  test("the same seed gives the same bytes; another seed differs", () => {
    const a = take(5_000).records.map((r) => `${r.timestamp} ${r.key} ${r.value}`)
    const b = take(5_000).records.map((r) => `${r.timestamp} ${r.key} ${r.value}`)
    const c = take(5_000, { seed: 8 }).records.map((r) => r.value)
    expect(a).toEqual(b)
    expect(c).not.toEqual(a.map((l) => l.split(" ").slice(2).join(" ")))
  })

  test("every record is what it says: valid events pass the contract, faults fail with their code", () => {
    const { records, stats } = take(40_000, { eps: 5, badRate: 0.05, dupRate: 0.03, lateRate: 0.03 })
    const seen = new Set<string>()
    for (const r of records) {
      const v = validate({ value: r.value, timestamp: r.timestamp })
      if (r.expected === "valid") {
        if (!v.ok) throw new Error(`valid record rejected: ${v.error.code} ${v.error.message}: ${r.value}`)
        expect(seen.has(v.event.event_id)).toBe(false)
        seen.add(v.event.event_id)
      } else if (r.expected === "duplicate") {
        expect(v.ok).toBe(true)
        if (v.ok) expect(seen.has(v.event.event_id)).toBe(true)
      } else {
        expect(v.ok ? "valid" : v.error.code).toBe(r.expected.dlq)
      }
    }
    // Every DLQ kind is injected, at about the configured rate.
    expect(Object.keys(stats.dlq).sort()).toEqual([...FAULTS].sort())
    expect(sumDlq(stats) / stats.records).toBeCloseTo(0.05, 1)
    expect(stats.duplicates / stats.records).toBeGreaterThan(0.02)
    expect(stats.duplicates / stats.records).toBeLessThan(0.04)
    expect(stats.late / stats.records).toBeGreaterThan(0.02)
    expect(stats.late / stats.records).toBeLessThan(0.04)
    expect(stats.records).toBe(records.length)
  })

  test("late events are accepted and carry an event_ts well before their record timestamp", () => {
    const { records } = take(20_000, { eps: 5, lateRate: 0.05 })
    const lags = records.map((r) => r.timestamp - Date.parse(JSON.parse(r.value).event_ts))
    expect(lags.filter((l) => l > 60_000).length).toBeGreaterThan(700)
    expect(Math.max(...lags)).toBeLessThan(30 * 86_400_000)
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(0)
  })

  test("record timestamps never go backwards and sessions keep one key", () => {
    const { records } = take(20_000)
    for (let i = 1; i < records.length; i++)
      expect(records[i]!.timestamp).toBeGreaterThanOrEqual(records[i - 1]!.timestamp)
    for (const r of records) expect(r.key).toBe(JSON.parse(r.value).session_id)
  })

  test("conversion is 2-4% of sessions and the funnel narrows at every step", () => {
    // Two simulated days.
    const { records } = take(250_000, { eps: 1.5 })
    const sessions = new Map<string, Set<string>>()
    for (const r of records) {
      const e = JSON.parse(r.value)
      const steps = sessions.get(e.session_id) ?? new Set<string>()
      steps.add(e.event_type === "page_view" ? `page_view:${e.page_type}` : e.event_type)
      sessions.set(e.session_id, steps)
    }
    const count = (step: string) => [...sessions.values()].filter((s) => s.has(step)).length
    const funnel = [
      sessions.size,
      count("page_view:product"),
      count("add_to_cart"),
      count("checkout_started"),
      count("order_placed"),
    ]
    for (let i = 1; i < funnel.length; i++) expect(funnel[i]!).toBeLessThan(funnel[i - 1]!)
    const conversion = funnel[4]! / funnel[0]!
    expect(conversion).toBeGreaterThan(0.02)
    expect(conversion).toBeLessThan(0.04)
  })

  test("some orders are returned days later", () => {
    const { records } = take(120_000, { eps: 0.15 })
    const placed = new Map<string, number>()
    let returns = 0
    for (const r of records) {
      const e = JSON.parse(r.value)
      if (e.event_type === "order_placed") placed.set(e.order_id, Date.parse(e.event_ts))
      if (e.event_type === "order_returned") {
        returns++
        expect(Date.parse(e.event_ts) - placed.get(e.order_id)!).toBeGreaterThan(86_400_000)
      }
    }
    expect(returns).toBeGreaterThan(0)
  })

  test("orders satisfy the invariants to the cent, with multi-item orders and discounts", () => {
    const { records } = take(150_000, { eps: 5 })
    const orders = records.map((r) => JSON.parse(r.value)).filter((e) => e.event_type === "order_placed")
    expect(orders.length).toBeGreaterThan(100)
    const cents = (n: number) => Math.round(n * 100)
    for (const o of orders) {
      const lines = o.items.reduce(
        (s: number, i: { quantity: number; unit_price: number }) => s + i.quantity * cents(i.unit_price),
        0,
      )
      expect(cents(o.subtotal)).toBe(lines)
      expect(cents(o.total)).toBe(cents(o.subtotal) - cents(o.discount) + cents(o.shipping) + cents(o.tax))
    }
    expect(orders.some((o) => o.items.length > 1)).toBe(true)
    expect(orders.some((o) => o.discount > 0 && o.coupon !== null)).toBe(true)
  })

  test("traffic follows the time of day: evenings are busier than nights", () => {
    const { records } = take(120_000, { eps: 1 })
    const byHour = new Array(24).fill(0)
    for (const r of records) byHour[new Date(r.timestamp).getUTCHours()]++
    expect(byHour[20]).toBeGreaterThan(byHour[3] * 3)
  })

  test("the catalog has at least 200 SKUs in categories with prices", () => {
    const catalog = loadCatalog()
    expect(catalog.length).toBeGreaterThanOrEqual(200)
    expect(new Set(catalog.map((s) => s.sku)).size).toBe(catalog.length)
    expect(new Set(catalog.map((s) => s.category)).size).toBeGreaterThanOrEqual(8)
    for (const s of catalog) expect(s.priceCents).toBeGreaterThan(0)
  })
})
