import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { centsToDecimal, decimalToCents, LiveState, MINUTE, type MinutePoint, type OrderRow } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const now = Date.parse("2026-11-25T12:30:30Z")
const minute = (m: number) => Date.parse("2026-11-25T12:00:00Z") + m * MINUTE

const order = (id: string, ts: number, netCents: number): OrderRow => ({
  orderId: id,
  ts,
  recordTs: ts,
  sessionId: `s-${id}`,
  userId: null,
  units: 1,
  lineCount: 1,
  netCents,
  totalCents: netCents + 500,
  paymentMethod: "card",
  country: "US",
  device: "mobile",
})

describe("money", () => {
  test("cents to an exact decimal string and back", () => {
    expect(centsToDecimal(0)).toBe("0.00")
    expect(centsToDecimal(5)).toBe("0.05")
    expect(centsToDecimal(-1205)).toBe("-12.05")
    expect(centsToDecimal(99_999_999_999_99)).toBe("99999999999.99")
    for (const s of ["0.00", "12.5", "12.50", "-0.05", "1234567.89"]) {
      expect(centsToDecimal(decimalToCents(s))).toBe(Number(s).toFixed(2))
    }
    expect(() => decimalToCents("1e3")).toThrow()
  })

  test("0.1 + 0.2 in cents is exactly 30", () => {
    const s = new LiveState(Number.NEGATIVE_INFINITY)
    s.ready = true
    s.addOrders([order("a", now - 1_000, 10), order("b", now - 2_000, 20)], now)
    expect(s.lastSixtySeconds(now).netCents).toBe(30)
  })
})

describe("LiveState", () => {
  test("minutes before liveFrom come from gold, later ones from its own fold; nothing is live until ready", () => {
    const s = new LiveState(minute(25))
    s.addEvents(
      [
        { type: "page_view", sessionId: "x", ts: minute(20) + 1, pageType: "product", sku: "A" },
        { type: "page_view", sessionId: "y", ts: minute(29) + 1, pageType: "home", sku: null },
        { type: "add_to_cart", sessionId: "y", ts: minute(30) + 1 },
      ],
      now,
    )
    const gold = new Map<number, Omit<MinutePoint, "source">>()
    for (let m = 0; m <= 30; m++) {
      gold.set(minute(m), {
        minute: minute(m),
        events: 100 + m,
        pageViews: 0,
        activeSessions: 0,
        addToCarts: 0,
        checkouts: 0,
        orders: 0,
        units: 0,
        netCents: 0,
        dlq: 0,
        bots: 0,
      })
    }
    const before = s.series(now, 60, gold)
    expect(before.every((p) => p.source === (gold.has(p.minute) ? "gold" : "none"))).toBe(true)
    s.ready = true
    const series = s.series(now, 60, gold)
    expect(series).toHaveLength(60)
    expect(series.at(-1)!.minute).toBe(minute(30))
    // Active sessions need the four minutes before as well: live from liveFrom + 4 minutes.
    const bySource = (m: number) => series.find((p) => p.minute === minute(m))!
    expect(bySource(28).source).toBe("gold")
    expect(bySource(28).events).toBe(128)
    expect(bySource(29)).toMatchObject({ source: "live", events: 1, pageViews: 1, activeSessions: 1 })
    expect(bySource(30)).toMatchObject({ source: "live", events: 1, addToCarts: 1, activeSessions: 1 })
    // Minutes before the hour the page shows are not kept.
    s.addEvents([{ type: "search", sessionId: "z", ts: now - 3 * 60 * MINUTE }], now)
    expect(s.series(now, 60, new Map()).reduce((n, p) => n + p.events, 0)).toBe(3)
  })

  test("active sessions count each session once over five minutes, and follow new events", () => {
    const s = new LiveState(Number.NEGATIVE_INFINITY)
    s.ready = true
    const ev = (sessionId: string, m: number) => ({ type: "search", sessionId, ts: minute(m) + 5 })
    s.addEvents([ev("a", 26), ev("a", 27), ev("b", 30), ev("c", 25)], now)
    const at = (m: number) => s.series(now, 60, new Map()).find((p) => p.minute === minute(m))!.activeSessions
    expect(at(30)).toBe(2) // a (26, 27), b (30); c at 25 is outside 26..30
    expect(at(29)).toBe(2) // a, c
    s.addEvents([ev("d", 30), ev("a", 30)], now)
    expect(at(30)).toBe(3)
  })

  test("recent orders are newest first and capped; top products rank by views and revenue", () => {
    const s = new LiveState(Number.NEGATIVE_INFINITY, 3)
    s.ready = true
    s.addOrders([order("o1", minute(28), 100), order("o3", minute(30), 300)], now)
    s.addOrders([order("o2", minute(29), 200), order("o0", minute(10), 50)], now)
    expect(s.recentOrders(10).map((o) => o.orderId)).toEqual(["o3", "o2", "o1"])
    s.addEvents(
      ["B", "A", "B", "C"].map((sku, i) => ({
        type: "page_view",
        sessionId: `v${i}`,
        ts: minute(29),
        pageType: "product",
        sku,
      })),
      now,
    )
    s.addOrderItems(
      [
        { sku: "A", ts: minute(29), quantity: 2, lineTotalCents: 1_000 },
        { sku: "C", ts: minute(29), quantity: 1, lineTotalCents: 1_500 },
        { sku: "A", ts: minute(10), quantity: 1, lineTotalCents: 9_999 },
      ],
      now,
    )
    const top = s.topProducts(now, 15)
    expect(top.byViews).toEqual([
      { sku: "B", views: 2 },
      { sku: "A", views: 1 },
      { sku: "C", views: 1 },
    ])
    expect(top.byRevenue).toEqual([
      { sku: "C", revenueCents: 1_500, units: 1 },
      { sku: "A", revenueCents: 1_000, units: 2 },
    ])
    expect(s.topProducts(now, 60).byRevenue[0]).toEqual({ sku: "A", revenueCents: 10_999, units: 3 })
  })

  test("DLQ rate is rejects over records taken in, over the last minutes", () => {
    const s = new LiveState(Number.NEGATIVE_INFINITY)
    s.ready = true
    s.addRecordsIn(1_000, minute(30), now)
    s.addRecordsIn(500, minute(10), now)
    s.addDlq(
      [
        { code: "invalid_json", message: "bad", partition: 0, offset: 1, sourceTs: minute(30) },
        { code: "too_late", message: "old", partition: 1, offset: 2, sourceTs: minute(29) },
        { code: "too_late", message: "older", partition: 1, offset: 1, sourceTs: minute(10) },
      ],
      now,
    )
    expect(s.dlqRate(now, 5)).toEqual({ minutes: 5, records: 1_000, dlq: 2, rate: 0.002 })
    expect(s.recentDlq(2).map((d) => d.offset)).toEqual([1, 2])
  })
})
