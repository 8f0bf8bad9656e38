import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { EVENT_TYPES, TOPIC_RAW } from "@shop/contract"
import { Dbt, dbtMartsDir } from "@shop/dbt"
import { Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { refreshDailyFacts, refreshRealtime, Warehouse } from "@shop/warehouse"
import { ConfigProvider, Context, Effect, Exit, Layer, Scope } from "effect"
import { DashboardServer, dashboardLayer, type Snapshot } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(300_000)

/**
 * Issue 14, the stream/warehouse half: orders sent without a write key are kept but not trusted when the shop
 * requires keys (SHOP_REQUIRE_KEYED_ORDERS=true), and bots (crawler user agents, a session firing more than 60
 * events a minute) are flagged in Silver, left out of the business figures and counted apart. Gold, the dbt
 * marts and the live page must agree with each other and with plain SQL over Silver written here.
 */
const dir = mkdtempSync(join(tmpdir(), "bots-trust-"))
const scopes: Array<Scope.Closeable> = []
afterAll(async () => {
  for (const s of scopes) await Effect.runPromise(Scope.close(s, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})

const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
const CURL = "curl/8.5.0"

// Ten minutes ago, at the start of a minute: everything lands in minutes the live page shows.
const t0 = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000
let n = 0
const uuid = () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, "0")}`
type Json = Record<string, unknown>
const ev = (session: string, ua: string | null, atMs: number, fields: Json, extra: Json = {}): Json => ({
  schema_version: 1,
  event_id: uuid(),
  event_ts: new Date(atMs).toISOString(),
  anonymous_id: `anon-${session}`,
  user_id: null,
  session_id: session,
  context: { device: "desktop", country: "DE", user_agent: ua, referrer: "https://www.google.com/", utm_source: null },
  ...fields,
  ...extra,
})
const view = (s: string, ua: string | null, at: number, extra: Json = {}) =>
  ev(s, ua, at, { event_type: "page_view", page_type: "product", page_url: "/p/A", sku: "A", category: null }, extra)
const order = (s: string, ua: string | null, at: number, id: string, cents: number, extra: Json = {}) =>
  ev(
    s,
    ua,
    at,
    {
      event_type: "order_placed",
      order_id: id,
      items: [{ sku: "A", quantity: 1, unit_price: cents / 100 }],
      subtotal: cents / 100,
      discount: 0,
      shipping: 0,
      tax: 0,
      total: cents / 100,
      currency: "USD",
      payment_method: "card",
      coupon: null,
    },
    extra,
  )
const refund = (s: string, at: number, id: string, cents: number, extra: Json = {}) =>
  ev(
    s,
    CHROME,
    at,
    {
      event_type: "order_returned",
      order_id: id,
      items: [{ sku: "A", quantity: 1 }],
      refund_amount: cents / 100,
      currency: "USD",
      reason: "damaged",
    },
    extra,
  )

/** An add_to_cart and a checkout_started just before a session's order (so the funnel steps add up). */
const toCheckout = (s: string, at: number) => [
  ev(s, CHROME, at - 200, { event_type: "add_to_cart", sku: "A", quantity: 1, unit_price: 1, currency: "USD" }),
  ev(s, CHROME, at - 100, { event_type: "checkout_started", cart_value: 1, item_count: 1, currency: "USD" }),
]

const events: Array<Json> = [
  ...toCheckout("h1", t0 + 2_000),
  ...toCheckout("h2", t0 + 4_000),
  ...toCheckout("h3", t0 + 7_000),
  // Two people: one from a plain producer (no ingest field: trusted), one whose order the shop's backend sent.
  view("h1", CHROME, t0 + 1_000),
  order("h1", CHROME, t0 + 2_000, "o-plain", 1_999),
  view("h2", IPHONE, t0 + 3_000, {
    context: {
      device: "mobile",
      country: "FR",
      user_agent: IPHONE,
      referrer: null,
      utm_source: "news",
      utm_medium: "email",
    },
  }),
  order("h2", null, t0 + 4_000, "o-keyed", 4_250, { ingest: { keyed: true } }),
  refund("h2", t0 + 5_000, "o-keyed", 1_000, { ingest: { keyed: true } }),
  // A browser posting an order and a refund itself (the collector marked them unkeyed): kept, not trusted.
  view("h3", CHROME, t0 + 6_000, { ingest: { keyed: false } }),
  order("h3", CHROME, t0 + 7_000, "o-browser", 99_900, { ingest: { keyed: false } }),
  refund("h3", t0 + 8_000, "o-keyed", 500, { ingest: { keyed: false } }),
  // Crawlers by user agent, one of them "ordering".
  view("c1", GOOGLEBOT, t0 + 9_000),
  view("c1", GOOGLEBOT, t0 + 10_000),
  order("c1", GOOGLEBOT, t0 + 11_000, "o-crawler", 5_000),
  view("c2", CURL, t0 + 12_000),
  // A script with a browser's user agent: 75 page views in one minute, the last 15 past the limit of 60.
  ...Array.from({ length: 75 }, (_, i) => view("r1", CHROME, t0 + 60_000 + i * 500)),
]

const pipeline = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))
const query = (sql: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return (yield* (yield* Warehouse).query(sql)) as ReadonlyArray<Record<string, unknown>>
    }).pipe(Effect.provide(Warehouse.layer), Effect.scoped),
  )
const silver = (t: string) => `read_parquet('${dir}/silver/${t}/*/*.parquet', union_by_name = true)`
const gold = (t: string) => `read_parquet('${dir}/gold/${t}/*/*.parquet', hive_partitioning = true)`
const mart = (m: string) => `read_parquet('${dbtMartsDir(dir)}/${m}.parquet')`
const allSilver = (cols: string) =>
  EVENT_TYPES.filter((t) => existsSync(join(dir, "silver", t)))
    .map((t) => `select ${cols} from read_parquet('${dir}/silver/${t}/*/*.parquet', union_by_name = true)`)
    .join(" union all ")
const one = async (sql: string) => (await query(sql))[0]!

const prepared = (async () => {
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureDefaultTopics
      yield* (yield* Broker).produce(
        TOPIC_RAW,
        events.map((e) => ({ key: String(e.session_id), value: JSON.stringify(e), timestamp: t0 + 120_000 })),
      )
      yield* runStreamProcessor({ availableNow: true, maxBatchRecords: 7 })
    }).pipe(
      Effect.provide(pipeline),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ SHOP_REQUIRE_KEYED_ORDERS: "true" }))),
    ),
  )
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* refreshRealtime(dir, Date.now())
      yield* refreshDailyFacts()
    }).pipe(Effect.provide(Warehouse.layer), Effect.provide(Lake.layerAt(dir)), Effect.scoped),
  )
  const lines: Array<string> = []
  await Effect.runPromise(
    Effect.gen(function* () {
      return yield* (yield* Dbt).run(["build"], dir, (l) => lines.push(l))
    }).pipe(Effect.provide(Dbt.layer)),
  ).catch((e) => {
    throw new Error(`${e.message}\n${lines.join("\n")}`)
  })
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const ctx = await Effect.runPromise(
    Layer.buildWithScope(dashboardLayer({ root: dir, port: 0, bootstrapMinutes: 60, log: () => {} }), scope),
  )
  const url = Context.get(ctx, DashboardServer).url
  const get = async <T = Snapshot>(path: string): Promise<T> => (await fetch(`${url}${path}`)).json() as Promise<T>
  for (let i = 0; i < 400 && !(await get<Snapshot["health"]>("/api/health")).ingest.ready; i++) await Bun.sleep(25)
  return { snapshot: await get("/api/snapshot") }
})()

describe("bots and trusted orders", () => {
  test("Silver: enrichment, bot flags with their reasons, keyed and trusted", async () => {
    await prepared
    const flags = await query(`
      select session_id, bot_reason, count(*)::INTEGER as n from (${allSilver("session_id, bot_reason")})
      group by all order by all`)
    expect(flags).toEqual([
      { session_id: "c1", bot_reason: "user_agent", n: 3 },
      { session_id: "c2", bot_reason: "user_agent", n: 1 },
      { session_id: "h1", bot_reason: null, n: 4 },
      { session_id: "h2", bot_reason: null, n: 5 },
      { session_id: "h3", bot_reason: null, n: 5 },
      { session_id: "r1", bot_reason: "rate", n: 15 },
      { session_id: "r1", bot_reason: null, n: 60 },
    ])
    expect(
      await one(
        `select count(*)::INTEGER as n from (${allSilver("is_bot, bot_reason")}) where is_bot <> (bot_reason is not null)`,
      ),
    ).toEqual({ n: 0 })
    const orders = await query(`select order_id, keyed, trusted from ${silver("order_placed")} order by order_id`)
    expect(orders).toEqual([
      { order_id: "o-browser", keyed: false, trusted: false },
      { order_id: "o-crawler", keyed: null, trusted: true },
      { order_id: "o-keyed", keyed: true, trusted: true },
      { order_id: "o-plain", keyed: null, trusted: true },
    ])
    expect(await query(`select keyed, trusted from ${silver("order_returned")} order by keyed nulls first`)).toEqual([
      { keyed: false, trusted: false },
      { keyed: true, trusted: true },
    ])
    const enriched = await query(`
      select session_id, browser, os, ua_device, referrer_class from ${silver("page_view")}
      where session_id in ('h1', 'h2', 'c1') group by all order by 1`)
    expect(enriched).toEqual([
      { session_id: "c1", browser: null, os: null, ua_device: null, referrer_class: "search" },
      { session_id: "h1", browser: "Chrome", os: "Windows", ua_device: "desktop", referrer_class: "search" },
      { session_id: "h2", browser: "Mobile Safari", os: "iOS", ua_device: "mobile", referrer_class: "email" },
    ])
  })

  test("revenue, orders and refunds count trusted human orders only: gold = dbt = live = Silver, to the cent", async () => {
    const { snapshot } = await prepared
    // Independent: straight from Silver, what the contract says counts.
    const expected = await one(`
      select (select sum(subtotal - discount)::VARCHAR from ${silver("order_placed")} where not is_bot and trusted) as net,
             (select count(distinct order_id)::INTEGER from ${silver("order_placed")} where not is_bot and trusted) as orders,
             (select sum(refund_amount)::VARCHAR from ${silver("order_returned")} where not is_bot and trusted) as refunds,
             (select sum(subtotal)::VARCHAR from ${silver("order_placed")}) as everything`)
    expect(expected).toEqual({ net: "62.49", orders: 2, refunds: "10.00", everything: "1111.49" })
    expect(
      await one(
        `select sum(net_revenue)::VARCHAR as net, sum(refunds)::VARCHAR as refunds from ${gold("revenue_daily")}`,
      ),
    ).toEqual({ net: expected.net, refunds: expected.refunds })
    expect(await one(`select sum(orders)::INTEGER as orders from ${gold("orders_daily")}`)).toEqual({
      orders: expected.orders,
    })
    expect(
      await one(`
        select sum(net_revenue)::VARCHAR as net, sum(refunds)::VARCHAR as refunds, sum(orders)::INTEGER as orders
        from ${mart("fct_revenue_daily")}`),
    ).toEqual({ net: expected.net, refunds: expected.refunds, orders: expected.orders })
    expect(await one(`select sum(revenue)::VARCHAR as r from ${gold("revenue_by_category_daily")}`)).toEqual({
      r: expected.net,
    })
    expect(await one(`select sum(revenue)::VARCHAR as r from ${mart("fct_revenue_by_category")}`)).toEqual({
      r: expected.net,
    })
    const live = snapshot.minutes.reduce((a, m) => ({ orders: a.orders + m.orders, cents: a.cents + m.netCents }), {
      orders: 0,
      cents: 0,
    })
    expect({ orders: live.orders, net: (live.cents / 100).toFixed(2) }).toEqual({ orders: 2, net: "62.49" })
    expect(snapshot.recentOrders.map((o) => o.orderId).sort()).toEqual(["o-keyed", "o-plain"])
  })

  test("bots are in no business figure and are counted apart: gold = dbt = live = Silver", async () => {
    const { snapshot } = await prepared
    const bots = await query(`
      select bot_reason, count(*)::INTEGER as bot_events, count(distinct session_id)::INTEGER as bot_sessions
      from (${allSilver("session_id, is_bot, bot_reason")}) where is_bot group by 1 order by 1`)
    expect(bots).toEqual([
      { bot_reason: "rate", bot_events: 15, bot_sessions: 1 },
      { bot_reason: "user_agent", bot_events: 4, bot_sessions: 2 },
    ])
    const cols = "bot_reason, sum(bot_events)::INTEGER as bot_events, sum(bot_sessions)::INTEGER as bot_sessions"
    expect(await query(`select ${cols} from ${gold("bots_daily")} group by 1 order by 1`)).toEqual(bots)
    expect(await query(`select ${cols} from ${mart("fct_bots_daily")} group by 1 order by 1`)).toEqual(bots)
    expect(snapshot.summary.bots.events).toBe(19)
    expect(snapshot.minutes.reduce((s, m) => s + m.bots, 0)).toBe(19)

    // Business figures over human events only (independent SQL): sessions, funnel, active users, live events.
    const human = await one(`
      select count(distinct session_id)::INTEGER as sessions, count(distinct anonymous_id)::INTEGER as dau,
             count(*)::INTEGER as events
      from (${allSilver("session_id, anonymous_id, is_bot")}) where not is_bot`)
    // h1, h2, h3 and the script's first 60 events (what it did before it showed itself).
    expect(human).toEqual({ sessions: 4, dau: 4, events: 74 })
    const sessionCols = "sum(sessions)::INTEGER as sessions, sum(product_view_sessions)::INTEGER as pv"
    const goldFunnel = await one(`select ${sessionCols} from ${gold("funnel_daily")}`)
    expect(goldFunnel).toEqual({ sessions: 4, pv: 4 })
    expect(await one(`select ${sessionCols} from ${mart("daily_funnel")}`)).toEqual(goldFunnel)
    expect(await one(`select sum(dau)::INTEGER as dau from ${gold("active_users_daily")}`)).toEqual({ dau: 4 })
    expect(await one(`select sum(dau)::INTEGER as dau from ${mart("fct_active_users")}`)).toEqual({ dau: 4 })
    expect(snapshot.minutes.reduce((s, m) => s + m.events, 0)).toBe(human.events as number)
    // The gold minute rollup says the same as the live fold.
    expect(
      await one(
        `select sum(events)::INTEGER as e, sum(bot_events)::INTEGER as b from read_parquet('${dir}/gold/realtime/minute_rollup.parquet')`,
      ),
    ).toEqual({ e: 74, b: 19 })
  })
})
