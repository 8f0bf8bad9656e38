import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { EVENT_TYPES, TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream } from "@shop/generator"
import { Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { Effect, Layer } from "effect"
import { DEFAULT_CATALOG, refreshDailyFacts, refreshRealtime, Warehouse } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "gold-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const pipeline = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))

const produceAndProcess = (records: ReadonlyArray<Pick<GeneratedRecord, "key" | "value" | "timestamp">>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureDefaultTopics
      const broker = yield* Broker
      for (let i = 0; i < records.length; i += 5_000) yield* broker.produce(TOPIC_RAW, records.slice(i, i + 5_000))
      yield* runStreamProcessor({ availableNow: true })
    }).pipe(Effect.provide(pipeline)),
  )
const refresh = () =>
  Effect.runPromise(
    refreshDailyFacts().pipe(Effect.provide(Layer.merge(Warehouse.layer, Lake.layerAt(dir))), Effect.scoped),
  )
const query = (sql: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return yield* (yield* Warehouse).query(sql)
    }).pipe(Effect.provide(Warehouse.layer), Effect.scoped),
  )
const silver = (t: string) => `read_parquet('${dir}/silver/${t}/*/*.parquet', hive_partitioning = true)`
const gold = (t: string) => `read_parquet('${dir}/gold/${t}/*/*.parquet', hive_partitioning = true)`

describe("gold daily facts", () => {
  const stats = emptyStats()

  test("match independent queries over Silver, to the cent, for every day", async () => {
    const stream = makeEventStream(
      {
        seed: 21,
        start: Date.parse("2026-11-01T00:00:00Z"),
        end: Date.parse("2026-11-04T00:00:00Z"),
        eps: 0.4,
        badRate: 0.02,
        dupRate: 0.02,
        lateRate: 0.03,
        seasonality: true,
      },
      stats,
    )
    await produceAndProcess([...stream])
    const first = await refresh()
    expect(first.changedDays.length).toBeGreaterThanOrEqual(3)

    // Money: straight sums over order_placed, and units from the order lines (another table).
    const expectedRevenue = await query(`
      select o.event_date::VARCHAR as d, sum(subtotal)::VARCHAR as gmv, sum(total)::VARCHAR as total,
             (sum(subtotal) - sum(discount))::VARCHAR as net, count(*)::INTEGER as orders
      from ${silver("order_placed")} o group by 1 order by 1`)
    const goldRevenue = await query(`
      select r.event_date::VARCHAR as d, gmv::VARCHAR as gmv, total_collected::VARCHAR as total,
             r.net_revenue::VARCHAR as net, o.orders::INTEGER as orders
      from ${gold("revenue_daily")} r join ${gold("orders_daily")} o using (event_date) order by 1`)
    expect(goldRevenue).toEqual(expectedRevenue)
    const totalCents = expectedRevenue.reduce((s, r) => s + Math.round(Number(r.total) * 100), 0)
    expect(totalCents).toBe(stats.orderTotalCents)

    const unitsFromLines = await query(
      `select event_date::VARCHAR as d, sum(quantity)::INTEGER as u from ${silver("order_item")} group by 1 order by 1`,
    )
    const goldUnits = await query(
      `select event_date::VARCHAR as d, units::INTEGER as u from ${gold("orders_daily")} order by 1`,
    )
    expect(goldUnits).toEqual(unitsFromLines)

    // Revenue by category: quantity * unit_price, joined to the catalog by hand.
    const byCategory = await query(`
      select i.event_date::VARCHAR as d, coalesce(c.category, 'unknown') as category,
             sum(i.quantity * i.unit_price)::DECIMAL(18,2)::VARCHAR as revenue
      from ${silver("order_item")} i left join read_csv('${DEFAULT_CATALOG}', header = true) c using (sku)
      group by all order by 1, 2`)
    const goldByCategory = await query(
      `select event_date::VARCHAR as d, category, revenue::VARCHAR as revenue from ${gold("revenue_by_category_daily")} order by 1, 2`,
    )
    expect(goldByCategory).toEqual(byCategory)

    // Funnel: first event of each session by a window, written independently of the gold SQL.
    const tables = EVENT_TYPES
    const union = tables
      .map(
        (t) =>
          `select session_id, event_ts, event_type, ${t === "page_view" ? "page_type" : "null"} as page_type from ${silver(t)}`,
      )
      .join(" union all ")
    const funnel = await query(`
      with e as (${union}),
      firsts as (select session_id, event_ts::DATE as d from (
        select session_id, event_ts, row_number() over (partition by session_id order by event_ts) as n from e) where n = 1)
      select f.d::VARCHAR as d, count(distinct f.session_id)::INTEGER as sessions,
             count(distinct case when e.event_type = 'order_placed' then f.session_id end)::INTEGER as ordered,
             count(distinct case when e.page_type = 'product' then f.session_id end)::INTEGER as viewed
      from firsts f join e using (session_id) group by 1 order by 1`)
    const goldFunnel = await query(`
      select event_date::VARCHAR as d, sessions::INTEGER as sessions, order_sessions::INTEGER as ordered,
             product_view_sessions::INTEGER as viewed from ${gold("funnel_daily")} order by 1`)
    expect(goldFunnel).toEqual(funnel)
    for (const day of await query(`select * from ${gold("funnel_daily")}`)) {
      expect(Number(day.product_view_sessions)).toBeLessThanOrEqual(Number(day.sessions))
      expect(Number(day.cart_sessions)).toBeLessThanOrEqual(Number(day.product_view_sessions) + Number(day.sessions))
      expect(Number(day.order_sessions)).toBeLessThanOrEqual(Number(day.checkout_sessions))
    }

    // Active users: DAU per day, and the 7-day window of the last day.
    const dau = await query(`
      with e as (${tables.map((t) => `select event_date, coalesce(user_id, anonymous_id) as who from ${silver(t)}`).join(" union all ")})
      select event_date::VARCHAR as d, count(distinct who)::INTEGER as dau from e group by 1 order by 1`)
    const goldDau = await query(
      `select event_date::VARCHAR as d, dau::INTEGER as dau from ${gold("active_users_daily")} order by 1`,
    )
    expect(goldDau).toEqual(dau)
  }, 120_000)

  test("a late order recomputes only its own day; a rerun changes nothing", async () => {
    const day = "2026-11-01"
    const dayFile = join(dir, "gold/revenue_daily", `event_date=${day}`, "data.parquet")
    const otherFile = join(dir, "gold/revenue_daily", "event_date=2026-11-02", "data.parquet")
    const [before] = await query(
      `select total_collected::VARCHAR as t from ${gold("revenue_daily")} where event_date = DATE '${day}'`,
    )
    const otherMtime = statSync(otherFile).mtimeMs
    const late = {
      schema_version: 1,
      event_id: "0a5e4c1d-9f3b-4d2a-8c7e-1b2c3d4e5f60",
      event_type: "order_placed",
      event_ts: `${day}T23:59:00Z`,
      anonymous_id: "anon-late",
      user_id: null,
      session_id: "sess-late",
      context: { device: "mobile", country: "US" },
      order_id: "ord-late-1",
      items: [{ sku: "SHO-001", quantity: 2, unit_price: 10.05 }],
      subtotal: 20.1,
      discount: 0,
      shipping: 4.99,
      tax: 1.61,
      total: 26.7,
      currency: "USD",
      payment_method: "card",
      coupon: null,
    }
    await produceAndProcess([
      { key: "sess-late", value: JSON.stringify(late), timestamp: Date.parse("2026-11-04T01:00:00Z") },
    ])
    const second = await refresh()
    expect(second.changedDays).toEqual([day])
    const [after] = await query(
      `select total_collected::VARCHAR as t from ${gold("revenue_daily")} where event_date = DATE '${day}'`,
    )
    expect(Math.round(Number(after!.t) * 100) - Math.round(Number(before!.t) * 100)).toBe(2670)
    expect(statSync(otherFile).mtimeMs).toBe(otherMtime)

    const bytes = readFileSync(dayFile)
    const third = await refresh()
    expect(third).toEqual({ changedDays: [], written: {} })
    expect(readFileSync(dayFile)).toEqual(bytes)
  }, 60_000)

  test("the minute rollups of the last 48 hours add up to Silver, and top products rank by views and revenue", async () => {
    const now = Date.parse("2026-11-03T12:00:00Z")
    await Effect.runPromise(refreshRealtime(dir, now).pipe(Effect.provide(Warehouse.layer), Effect.scoped))
    const rollup = `read_parquet('${dir}/gold/realtime/minute_rollup.parquet')`
    const [totals] = await query(
      `select count(*)::INTEGER as minutes, sum(page_views)::INTEGER as views, sum(orders)::INTEGER as orders,
              sum(net_revenue)::VARCHAR as net from ${rollup}`,
    )
    const window = `event_ts >= epoch_ms(${now}) - interval 48 hour and event_ts < epoch_ms(${now}) + interval 1 minute`
    const [views] = await query(`select count(*)::INTEGER as n from ${silver("page_view")} where ${window}`)
    const [orders] = await query(
      `select count(*)::INTEGER as n, (sum(subtotal) - sum(discount))::VARCHAR as net from ${silver("order_placed")} where ${window}`,
    )
    expect(totals).toEqual({ minutes: 48 * 60 + 1, views: views!.n, orders: orders!.n, net: orders!.net })
    const [active] = await query(`select max(active_sessions)::INTEGER as m from ${rollup}`)
    expect(active!.m).toBeGreaterThan(0)
    const top = await query(
      `select ranking, window_minutes, rank, views from read_parquet('${dir}/gold/realtime/top_products.parquet') where ranking = 'views' and window_minutes = 60 order by rank`,
    )
    expect(top.length).toBeGreaterThan(0)
    for (let i = 1; i < top.length; i++) expect(Number(top[i]!.views)).toBeLessThanOrEqual(Number(top[i - 1]!.views))
  })
})
