import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { EVENT_TYPES, TOPIC_RAW } from "@shop/contract"
import { type GeneratedRecord, makeEventStream } from "@shop/generator"
import { Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { refreshDailyFacts, refreshRealtime, Warehouse } from "@shop/warehouse"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { DashboardServer, dashboardLayer, type Snapshot } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/** Batches committed to the lake under `dir` so far (all its commit logs). */
const committedBatches = (dir: string) =>
  Effect.runSync(Lake.use((lake) => lake.tail).pipe(Effect.provide(Lake.layerAt(dir)))).poll().length

const dir = mkdtempSync(join(tmpdir(), "live-api-"))
const pipeline = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))
const scopes: Array<Scope.Closeable> = []
afterAll(async () => {
  for (const s of scopes) await Effect.runPromise(Scope.close(s, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})

const produceAndProcess = (records: ReadonlyArray<Pick<GeneratedRecord, "key" | "value" | "timestamp">>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureDefaultTopics
      const broker = yield* Broker
      for (let i = 0; i < records.length; i += 2_000) yield* broker.produce(TOPIC_RAW, records.slice(i, i + 2_000))
      return yield* runStreamProcessor({ availableNow: true })
    }).pipe(Effect.provide(pipeline)),
  )

const query = (sql: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return yield* (yield* Warehouse).query(sql)
    }).pipe(Effect.provide(Warehouse.layer), Effect.scoped),
  )

/** Starts a dashboard on a free port over the test lake. */
const startDashboard = async (bootstrapMinutes: number) => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const ctx = await Effect.runPromise(
    Layer.buildWithScope(dashboardLayer({ root: dir, port: 0, bootstrapMinutes }), scope),
  )
  const url = Context.get(ctx, DashboardServer).url
  const get = async <T = Snapshot>(path: string): Promise<T> => (await fetch(`${url}${path}`)).json() as Promise<T>
  // It listens at once and folds the recent commits in the background.
  for (let i = 0; i < 200 && !(await get<Snapshot["health"]>("/api/health")).ingest.ready; i++) await Bun.sleep(25)
  return { get }
}

// Independent of the dashboard's code: plain globs over the Silver files.
const table = (t: string) => `read_parquet('${dir}/${t}/*/*.parquet', union_by_name = true)`
const hasFiles = (t: string) =>
  existsSync(join(dir, t)) && readdirSync(join(dir, t)).some((d) => readdirSync(join(dir, t, d)).length > 0)
const allEvents = () =>
  EVENT_TYPES.filter((t) => hasFiles(`silver/${t}`))
    .map(
      (t) =>
        `select session_id, event_type, event_ts, ${t === "page_view" ? "page_type, sku" : "null as page_type, null as sku"} from ${table(`silver/${t}`)}`,
    )
    .join(" union all ")
const ms = (n: number) => `epoch_ms(${n}::BIGINT)`

/** Every number of the minute series, straight from Silver. */
const expectedMinutes = (from: number, to: number) =>
  query(`
    with e as (select *, date_trunc('minute', event_ts) as m from (${allEvents()})),
    minutes as (select unnest(generate_series(${ms(from)}, ${ms(to)}, interval 1 minute)) as m),
    o as (select date_trunc('minute', event_ts) as m, count(*) as orders, sum(units) as units,
                 sum(subtotal - discount) as net from ${table("silver/order_placed")} group by 1),
    d as (select date_trunc('minute', source_ts) as m, count(*) as n from ${table("bronze/dlq")} group by 1)
    select epoch_ms(minutes.m)::DOUBLE as minute,
           (select count(*) from e where e.m = minutes.m)::INTEGER as events,
           (select count(*) from e where e.m = minutes.m and event_type = 'page_view')::INTEGER as pageViews,
           (select count(*) from e where e.m = minutes.m and event_type = 'add_to_cart')::INTEGER as addToCarts,
           (select count(*) from e where e.m = minutes.m and event_type = 'checkout_started')::INTEGER as checkouts,
           (select count(distinct session_id) from e where e.m between minutes.m - interval 4 minute and minutes.m)::INTEGER as activeSessions,
           coalesce(o.orders, 0)::INTEGER as orders, coalesce(o.units, 0)::INTEGER as units,
           coalesce(o.net, 0)::DECIMAL(18,2)::VARCHAR as netRevenue, coalesce(d.n, 0)::INTEGER as dlq
    from minutes left join o using (m) left join d using (m) order by 1`)

const pick = (point: object) => {
  const p = point as Record<string, unknown>
  return {
    minute: p.minute,
    events: p.events,
    pageViews: p.pageViews,
    addToCarts: p.addToCarts,
    checkouts: p.checkouts,
    activeSessions: p.activeSessions,
    orders: p.orders,
    units: p.units,
    netRevenue: p.netRevenue,
    dlq: p.dlq,
  }
}

describe("dashboard API", () => {
  beforeAll(async () => {
    // 40 minutes of the simulated shop up to now, with bad, duplicate and late records, stamped at event time.
    const now = Date.now()
    const stream = makeEventStream({
      seed: 5,
      start: now - 40 * 60_000,
      end: now - 1_000,
      eps: 4,
      badRate: 0.02,
      dupRate: 0.02,
      lateRate: 0.02,
    })
    await produceAndProcess([...stream])
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* refreshRealtime(dir, Date.now())
        yield* refreshDailyFacts()
      }).pipe(Effect.provide(Layer.merge(Warehouse.layer, Lake.layerAt(dir))), Effect.scoped),
    )
  })

  test("numbers equal independent DuckDB queries over Silver, to the cent", async () => {
    const api = await startDashboard(24 * 60)
    const s = await api.get("/api/snapshot")
    expect(s.minutes).toHaveLength(60)
    expect(s.minutes.every((m) => m.source === "live")).toBe(true)
    const expected = await expectedMinutes(s.minutes[0]!.minute, s.minutes.at(-1)!.minute)
    expect(s.minutes.map(pick)).toEqual(expected.map(pick))
    expect(expected.reduce((n, m) => n + Number(m.orders), 0)).toBeGreaterThan(5)

    // The rolling last 60 seconds.
    const last = s.summary.lastMinute
    const [counts] = await query(`
      select (select count(*) from (${allEvents()}) where event_ts >= ${ms(last.from)} and event_ts < ${ms(last.to)})::INTEGER as events,
             count(*)::INTEGER as orders, coalesce(sum(subtotal - discount), 0)::DECIMAL(18,2)::VARCHAR as net
      from ${table("silver/order_placed")} where event_ts >= ${ms(last.from)} and event_ts < ${ms(last.to)}`)
    expect({ events: last.events, orders: last.orders, net: last.netRevenue }).toEqual(counts as never)

    // Top products over the last 15 and 60 minutes (whole minutes up to now's).
    for (const w of s.topProducts) {
      expect(w.source).toBe("live")
      const first = s.minutes.at(-1)!.minute - (w.windowMinutes - 1) * 60_000
      const inWindow = `date_trunc('minute', event_ts) between ${ms(first)} and ${ms(s.minutes.at(-1)!.minute)}`
      const views = await query(`
        select sku, count(*)::INTEGER as views from ${table("silver/page_view")}
        where page_type = 'product' and sku is not null and ${inWindow} group by sku order by views desc, sku limit 10`)
      expect(w.byViews.map((p) => ({ sku: p.sku, views: p.views }))).toEqual(views as never)
      const revenue = await query(`
        select sku, sum(line_total)::DECIMAL(18,2)::VARCHAR as revenue, sum(quantity)::INTEGER as units
        from ${table("silver/order_item")} where ${inWindow} group by sku order by sum(line_total) desc, sku limit 10`)
      expect(w.byRevenue.map((p) => ({ sku: p.sku, revenue: p.revenue, units: p.units }))).toEqual(revenue as never)
    }

    // Recent orders, newest first, with exact totals.
    const orders = await api.get<{ orders: Array<{ orderId: string; total: string; units: number }> }>(
      "/api/recent-orders?limit=50",
    )
    const expectedOrders = await query(`
      select order_id as orderId, total::VARCHAR as total, units from ${table("silver/order_placed")}
      order by event_ts desc, order_id limit 50`)
    expect(orders.orders.map((o) => ({ orderId: o.orderId, total: o.total, units: o.units }))).toEqual(
      expectedOrders as never,
    )

    // Health: the newest Silver event and the latest rejects.
    const health = await api.get<Snapshot["health"]>("/api/health")
    const [newest] = await query(`select epoch_ms(max(event_ts))::DOUBLE as ts from (${allEvents()})`)
    expect(health.newestEventTs).toBe(newest!.ts as number)
    const dlq = await query(`
      select error_code as code, source_offset::DOUBLE as offset from ${table("bronze/dlq")}
      order by source_ts desc limit 5`)
    expect(health.dlq.recent.map((d) => d.code).sort()).toEqual(dlq.map((d) => d.code as string).sort())
    expect(health.ingest.unreadable).toBe(0)

    // Today's funnel comes from gold, which matches Silver (the gold spec checks that).
    const summary = await api.get<Snapshot["summary"]>("/api/summary")
    expect(summary.funnel).not.toBeNull()
  })

  test("minutes before its start come from the gold rollup, with the same numbers", async () => {
    const api = await startDashboard(10)
    const s = await api.get("/api/snapshot")
    const gold = s.minutes.filter((m) => m.source === "gold")
    const live = s.minutes.filter((m) => m.source === "live")
    expect(gold.length).toBeGreaterThan(40)
    expect(live.length).toBeGreaterThan(0)
    const expected = await expectedMinutes(s.minutes[0]!.minute, s.minutes.at(-1)!.minute)
    expect(s.minutes.map(pick)).toEqual(expected.map(pick))
  })

  test("a new commit reaches the API within 2 s", async () => {
    const api = await startDashboard(60)
    const before = await api.get("/api/snapshot")
    const entriesBefore = committedBatches(dir)
    const now = Date.now()
    const fresh = [...makeEventStream({ seed: 9, start: now - 30_000, end: now, eps: 20 })]
    const metrics = await produceAndProcess(fresh)
    const committed = Date.now()
    // The run may commit several batches: the API is judged once it has folded all of them (taking the first
    // snapshot with more commits raced the dashboard's fold of the later ones, on a loaded machine).
    const newEntries = committedBatches(dir) - entriesBefore
    expect(newEntries).toBeGreaterThan(0)
    const added = ["page_view", "search", "add_to_cart", "remove_from_cart", "checkout_started", "order_placed"]
      .map((t) => metrics.silverRows[`silver/${t}`] ?? metrics.silverRows[t] ?? 0)
      .reduce((a, b) => a + b, 0)
    expect(added).toBeGreaterThan(100)
    const total = (snap: Snapshot) => snap.minutes.reduce((n, m) => n + m.events, 0)
    let seen: Snapshot | undefined
    while (Date.now() - committed < 5_000) {
      const snap = await api.get("/api/snapshot")
      if (snap.health.ingest.commits >= before.health.ingest.commits + newEntries) {
        seen = snap
        break
      }
      await Bun.sleep(20)
    }
    expect(seen).toBeDefined()
    expect(Date.now() - committed).toBeLessThan(2_000)
    expect(total(seen!)).toBeGreaterThan(total(before))
    const expected = await expectedMinutes(seen!.minutes[0]!.minute, seen!.minutes.at(-1)!.minute)
    expect(seen!.minutes.filter((m) => m.source === "live").map(pick)).toEqual(
      expected.filter((m) => seen!.minutes.find((x) => x.minute === m.minute)?.source === "live").map(pick),
    )
  })
})
