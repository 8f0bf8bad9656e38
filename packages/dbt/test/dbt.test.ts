import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Broker, layerEmbeddedAt } from "@shop/broker"
import { EVENT_TYPES, TOPIC_RAW } from "@shop/contract"
import { DEFAULT_CATALOG } from "@shop/generator"
import { ALL_TABLES } from "@shop/lake"
import { Effect } from "effect"
import { DBT_PROJECT_DIR, Dbt, dbtMartsDir } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * The dbt project end to end, on a lake made the way a person makes one: the generator backfills three days into
 * the embedded broker, `pipeline --available-now` writes Silver and the gold facts, then `dbt build` (through
 * `bun run dbt`'s entry). The marts must equal the gold facts and independent queries over Silver to the cent;
 * late events must rebuild their days incrementally, and the incremental result must equal a full refresh.
 */
const dir = mkdtempSync(join(tmpdir(), "dbt-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const repo = join(import.meta.dir, "..", "..", "..")
const END = "2026-11-04T00:00:00Z"

const sh = async (args: ReadonlyArray<string>) => {
  const proc = Bun.spawn(["bun", ...args], {
    cwd: repo,
    env: { ...process.env, DATA_DIR: dir },
    stdout: "pipe",
    stderr: "pipe",
  })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  if (code !== 0) throw new Error(`bun ${args.join(" ")} exited ${code}:\n${out}\n${err}`)
  return out + err
}

const dbt = (args: ReadonlyArray<string>) => {
  const lines: Array<string> = []
  return Effect.runPromise(
    Effect.gen(function* () {
      return yield* (yield* Dbt).run(args, dir, (l) => lines.push(l))
    }).pipe(Effect.provide(Dbt.layer)),
  ).catch((e) => {
    throw new Error(`${e.message}\n${lines.join("\n")}`)
  })
}

/** dbt's own record of the last command: every node's status. */
const runResults = (): Record<string, string> => {
  const json = JSON.parse(readFileSync(join(dir, "dbt", "target", "run_results.json"), "utf8"))
  return Object.fromEntries(json.results.map((r: { unique_id: string; status: string }) => [r.unique_id, r.status]))
}

let db: Awaited<ReturnType<Awaited<ReturnType<typeof DuckDBInstance.create>>["connect"]>>
beforeAll(async () => {
  db = await (await DuckDBInstance.create(":memory:")).connect()
})
const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>
const silver = (t: string) => `read_parquet('${dir}/silver/${t}/*/*.parquet', hive_partitioning = true)`
const gold = (t: string) => `read_parquet('${dir}/gold/${t}/*/*.parquet', hive_partitioning = true)`
const mart = (m: string) => `read_parquet('${dbtMartsDir(dir)}/${m}.parquet')`
const allEvents = (cols: string) =>
  EVENT_TYPES.map(
    (t) => `select ${cols.replace("$page_type", t === "page_view" ? "page_type" : "null")} from ${silver(t)}`,
  ).join(" union all ")

/** Every comparison of the marts with gold and with Silver; called after the first build and after late data. */
const expectMartsAgree = async () => {
  // Orders and money per day: dbt = gold = Silver, to the cent.
  const silverOrders = await rows(`
    select event_date::VARCHAR as d, count(*)::INTEGER as orders, sum(units)::INTEGER as units,
           sum(subtotal)::VARCHAR as gmv, sum(discount)::VARCHAR as discounts, (sum(subtotal) - sum(discount))::VARCHAR as net,
           sum(shipping)::VARCHAR as shipping, sum(tax)::VARCHAR as tax, sum(total)::VARCHAR as total
    from ${silver("order_placed")} group by 1 order by 1`)
  const dbtOrders = await rows(`
    select event_date::VARCHAR as d, orders::INTEGER as orders, units::INTEGER as units, gmv::VARCHAR as gmv,
           discounts::VARCHAR as discounts, net_revenue::VARCHAR as net, shipping::VARCHAR as shipping, tax::VARCHAR as tax,
           total_collected::VARCHAR as total
    from ${mart("fct_orders_daily")} order by 1`)
  expect(dbtOrders).toEqual(silverOrders)
  const goldOrders = await rows(`
    select o.event_date::VARCHAR as d, o.orders::INTEGER as orders, o.units::INTEGER as units, r.gmv::VARCHAR as gmv,
           r.discounts::VARCHAR as discounts, r.net_revenue::VARCHAR as net, r.shipping::VARCHAR as shipping,
           r.tax::VARCHAR as tax, r.total_collected::VARCHAR as total
    from ${gold("orders_daily")} o join ${gold("revenue_daily")} r using (event_date) order by 1`)
  expect(dbtOrders).toEqual(goldOrders)
  expect(
    await rows(
      `select event_date::VARCHAR as d, avg_order_value::VARCHAR as v from ${mart("fct_orders_daily")} order by 1`,
    ),
  ).toEqual(
    await rows(
      `select event_date::VARCHAR as d, avg_order_value::VARCHAR as v from ${gold("orders_daily")} order by 1`,
    ),
  )

  // Revenue per day including refunds by the return's day: dbt = gold, and refunds = Silver.
  const revenueCols =
    "event_date::VARCHAR as d, gmv::VARCHAR, discounts::VARCHAR, net_revenue::VARCHAR, shipping::VARCHAR, tax::VARCHAR, total_collected::VARCHAR, refunds::VARCHAR"
  expect(await rows(`select ${revenueCols} from ${mart("fct_revenue_daily")} order by 1`)).toEqual(
    await rows(`select ${revenueCols} from ${gold("revenue_daily")} order by 1`),
  )
  expect(
    await rows(
      `select event_date::VARCHAR as d, refunds::VARCHAR as r from ${mart("fct_revenue_daily")} where returns > 0 order by 1`,
    ),
  ).toEqual(
    await rows(
      `select event_date::VARCHAR as d, sum(refund_amount)::VARCHAR as r from ${silver("order_returned")} group by 1 order by 1`,
    ),
  )

  // One row per order; refunds attached to their orders add up to Silver's refunds of those orders.
  const [fo] =
    await rows(`select count(*)::INTEGER as n, count(distinct order_id)::INTEGER as ids, sum(total)::VARCHAR as total,
                                  sum(refund_amount)::VARCHAR as refunds from ${mart("fct_orders")}`)
  const [so] = await rows(`select count(*)::INTEGER as n, sum(total)::VARCHAR as total from ${silver("order_placed")}`)
  const [sr] = await rows(`select sum(refund_amount)::VARCHAR as refunds from ${silver("order_returned")}
                           where order_id in (select order_id from ${silver("order_placed")})`)
  expect(fo).toEqual({ n: so!.n, ids: so!.n, total: so!.total, refunds: sr!.refunds ?? "0.00" })

  // Revenue by category: quantity * unit_price joined to the catalog by hand; dbt = gold = Silver.
  const byCategory = await rows(`
    select i.event_date::VARCHAR as d, coalesce(c.category, 'unknown') as category,
           sum(i.quantity * i.unit_price)::DECIMAL(18,2)::VARCHAR as revenue, sum(i.quantity)::INTEGER as units
    from ${silver("order_item")} i left join read_csv('${DEFAULT_CATALOG}', header = true) c using (sku)
    group by all order by 1, 2`)
  const cols = "event_date::VARCHAR as d, category, revenue::VARCHAR as revenue, units::INTEGER as units"
  expect(await rows(`select ${cols} from ${mart("fct_revenue_by_category")} order by 1, 2`)).toEqual(byCategory)
  expect(await rows(`select ${cols} from ${gold("revenue_by_category_daily")} order by 1, 2`)).toEqual(byCategory)

  // Sessions and the funnel: first event of each session by a window over Silver; dbt = gold = Silver.
  const sessions = await rows(`
    with e as (${allEvents("session_id, event_ts, event_type, $page_type as page_type")}),
    firsts as (select session_id, event_ts::DATE as d from (
      select session_id, event_ts, row_number() over (partition by session_id order by event_ts) as n from e) where n = 1)
    select f.d::VARCHAR as d, count(distinct f.session_id)::INTEGER as sessions,
           count(distinct case when e.page_type = 'product' then f.session_id end)::INTEGER as viewed,
           count(distinct case when e.event_type = 'add_to_cart' then f.session_id end)::INTEGER as carts,
           count(distinct case when e.event_type = 'checkout_started' then f.session_id end)::INTEGER as checkouts,
           count(distinct case when e.event_type = 'order_placed' then f.session_id end)::INTEGER as ordered
    from firsts f join e using (session_id) group by 1 order by 1`)
  const funnelCols = (day: string) =>
    `${day}::VARCHAR as d, sessions::INTEGER as sessions, product_view_sessions::INTEGER as viewed, cart_sessions::INTEGER as carts,
     checkout_sessions::INTEGER as checkouts, order_sessions::INTEGER as ordered`
  expect(await rows(`select ${funnelCols("session_date")} from ${mart("daily_funnel")} order by 1`)).toEqual(sessions)
  expect(await rows(`select ${funnelCols("event_date")} from ${gold("funnel_daily")} order by 1`)).toEqual(sessions)
  const rates = "product_view_rate, cart_rate, checkout_rate, order_rate, conversion_rate"
  expect(await rows(`select session_date::VARCHAR as d, ${rates} from ${mart("daily_funnel")} order by 1`)).toEqual(
    await rows(`select event_date::VARCHAR as d, ${rates} from ${gold("funnel_daily")} order by 1`),
  )
  const [fs] =
    await rows(`select count(*)::INTEGER as n, sum(page_views)::INTEGER as views, sum(revenue)::VARCHAR as revenue,
                                  count(*) filter (where reached_order)::INTEGER as ordered from ${mart("fct_sessions")}`)
  const [ss] = await rows(`select count(distinct session_id)::INTEGER as n from (${allEvents("session_id")})`)
  const [pv] = await rows(`select count(*)::INTEGER as views from ${silver("page_view")}`)
  const [sv] =
    await rows(`select (sum(subtotal) - sum(discount))::VARCHAR as revenue, count(distinct session_id)::INTEGER as ordered
                           from ${silver("order_placed")}`)
  expect(fs).toEqual({ n: ss!.n, views: pv!.views, revenue: sv!.revenue, ordered: sv!.ordered })

  // Active users: dbt = gold, and DAU = Silver.
  const au = "event_date::VARCHAR as d, dau::INTEGER as dau, wau::INTEGER as wau, mau::INTEGER as mau"
  expect(await rows(`select ${au} from ${mart("fct_active_users")} order by 1`)).toEqual(
    await rows(`select ${au} from ${gold("active_users_daily")} order by 1`),
  )
  expect(
    await rows(
      `select event_date::VARCHAR as d, dau::INTEGER as dau from ${mart("fct_active_users")} where dau > 0 order by 1`,
    ),
  ).toEqual(
    await rows(`select event_date::VARCHAR as d, count(distinct who)::INTEGER as dau
                from (${allEvents("event_date, coalesce(user_id, anonymous_id) as who")}) group by 1 order by 1`),
  )

  // Users, skus and cohorts add up to Silver.
  const [du] = await rows(`select count(*)::INTEGER as users, sum(orders)::INTEGER as orders,
                                  sum(lifetime_value)::VARCHAR as ltv from ${mart("dim_user")}`)
  const [su] = await rows(
    `select count(distinct who)::INTEGER as users from (${allEvents("coalesce(user_id, anonymous_id) as who")})`,
  )
  const [sl] = await rows(`select ((select sum(subtotal) - sum(discount) from ${silver("order_placed")})
                                  - coalesce(${sr!.refunds ?? "null"}, 0))::DECIMAL(18,2)::VARCHAR as ltv`)
  expect(du).toEqual({ users: su!.users, orders: so!.n, ltv: sl!.ltv })
  const [ds] =
    await rows(`select sum(revenue)::VARCHAR as revenue, sum(product_views)::INTEGER as views, sum(cart_adds)::INTEGER as carts,
                                  count(*) filter (where in_catalog)::INTEGER as catalog from ${mart("dim_sku_360")}`)
  const [si] = await rows(`select sum(line_total)::VARCHAR as revenue from ${silver("order_item")}`)
  const [sp] = await rows(
    `select count(*)::INTEGER as views from ${silver("page_view")} where page_type = 'product' and sku is not null`,
  )
  const [sc] = await rows(`select count(*)::INTEGER as carts from ${silver("add_to_cart")}`)
  const [cat] = await rows(`select count(*)::INTEGER as n from read_csv('${DEFAULT_CATALOG}', header = true)`)
  expect(ds).toEqual({ revenue: si!.revenue, views: sp!.views, carts: sc!.carts, catalog: cat!.n })
  const [cohorts] =
    await rows(`select sum(cohort_users) filter (where cohort_type = 'first_visit' and week_number = 0)::INTEGER as visitors,
                                       sum(cohort_users) filter (where cohort_type = 'first_order' and week_number = 0)::INTEGER as buyers
                                from ${mart("cohort_retention")}`)
  const [buyers] = await rows(
    `select count(distinct coalesce(user_id, anonymous_id))::INTEGER as n from ${silver("order_placed")}`,
  )
  expect(cohorts).toEqual({ visitors: su!.users, buyers: buyers!.n })
}

/** The marts built from incremental models, as a hash of their sorted rows, to compare with a full refresh. */
const snapshot = async () => {
  const out: Record<string, unknown> = {}
  for (const m of ["fct_orders", "fct_sessions", "dim_user", "dim_sku_360", "cohort_retention", "fct_active_users"]) {
    out[m] = await rows(
      `select md5(string_agg(r::VARCHAR, '|' order by r::VARCHAR)) as h, count(*)::INTEGER as n from ${mart(m)} r`,
    )
  }
  return out
}

describe("dbt project over the Silver lake", () => {
  test("the silver source in dbt matches the lake's table schemas", () => {
    const yml = readFileSync(join(DBT_PROJECT_DIR, "models", "staging", "sources.yml"), "utf8")
    for (const t of ALL_TABLES.filter((t) => t.name.startsWith("silver/"))) {
      const block = yml.split(`      - name: ${t.name.split("/")[1]}\n`)[1]!.split("\n      - name: ")[0]!
      const names = [...block.matchAll(/^ {10}- name: (\w+)$/gm)].map((m) => m[1])
      expect(names).toEqual([...t.columns.map((c) => c.name), "event_date"])
    }
  })

  test("backfilled days -> pipeline --available-now -> dbt build: marts = gold facts = Silver, to the cent", async () => {
    await sh([
      "run",
      "generate",
      "--",
      "--backfill-days",
      "3",
      "--eps",
      "1",
      "--seed",
      "31",
      "--end",
      END,
      "--bad-rate",
      "0.01",
      "--dup-rate",
      "0.01",
      "--late-rate",
      "0.02",
    ])
    expect(await sh(["run", "pipeline", "--", "--available-now"])).toContain("[gold] recomputed")
    const first = await dbt(["build"])
    const statuses = Object.values(runResults())
    expect(statuses.length).toBeGreaterThan(80)
    expect(statuses.filter((s) => s !== "success" && s !== "pass")).toEqual([])
    process.stderr.write(`[dbt spec] first dbt build: ${first.durationMs} ms\n`)
    await expectMartsAgree()
  }, 240_000)

  test("late events rebuild their days incrementally; an unknown sku is a warning; incremental = full refresh", async () => {
    const before = await rows(
      `select order_id, event_date::VARCHAR as d from ${mart("fct_orders")} where not is_returned order by ordered_at limit 1`,
    )
    const returned = before[0]!
    const [moved] = await rows(`select session_id, anonymous_id from ${mart("fct_sessions")}
                                where session_date = DATE '2026-11-02' order by started_at, session_id limit 1`)
    const envelope = (id: string, type: string, ts: string) => ({
      schema_version: 1,
      event_id: id,
      event_type: type,
      event_ts: ts,
      anonymous_id: "anon-late",
      user_id: "cust-late",
      session_id: "sess-late",
      context: { device: "mobile", country: "US" },
    })
    const late = [
      // An order on the first day, with a sku missing from the catalog, delivered days later.
      {
        ...envelope("0b5e4c1d-9f3b-4d2a-8c7e-1b2c3d4e5f61", "order_placed", "2026-11-01T10:00:00Z"),
        order_id: "ord-late-1",
        items: [
          { sku: "SHO-001", quantity: 2, unit_price: 10.05 },
          { sku: "ZZZ-404", quantity: 1, unit_price: 3.3 },
        ],
        subtotal: 23.4,
        discount: 1,
        shipping: 4.99,
        tax: 1.61,
        total: 29,
        currency: "USD",
        payment_method: "card",
        coupon: null,
      },
      // A return of an early order, on the last day: its refund lands on that day, its order row changes.
      {
        ...envelope("0b5e4c1d-9f3b-4d2a-8c7e-1b2c3d4e5f62", "order_returned", "2026-11-03T20:00:00Z"),
        order_id: returned.order_id,
        items: [{ sku: "SHO-001", quantity: 1 }],
        refund_amount: 7.77,
        currency: "USD",
        reason: "late test",
      },
      // A page view of a day-2 session, stamped a second before midnight of day 1: the session moves to day 1.
      {
        ...envelope("0b5e4c1d-9f3b-4d2a-8c7e-1b2c3d4e5f63", "page_view", "2026-11-01T23:59:59Z"),
        anonymous_id: moved!.anonymous_id,
        user_id: null,
        session_id: moved!.session_id,
        page_type: "home",
        page_url: "/",
        sku: null,
        category: null,
      },
    ]
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* (yield* Broker).produce(
          TOPIC_RAW,
          late.map((e) => ({
            key: String(e.session_id),
            value: JSON.stringify(e),
            timestamp: Date.parse(END) + 3_600_000,
          })),
        )
      }).pipe(Effect.provide(layerEmbeddedAt(join(dir, "broker")))),
    )
    await sh(["run", "pipeline", "--", "--available-now"])
    // No overlap margin: only the days of the late events may be rebuilt, which is what this checks.
    const second = await dbt(["build", "--vars", "{rebuild_margin_minutes: 0}"])
    const compiled = (m: string) =>
      readFileSync(join(dir, "dbt", "target", "compiled", "shop_pulse", "models", m), "utf8").replace(/\s+/g, " ")
    expect(compiled("intermediate/int_user_days.sql")).toContain(
      "where event_date in (DATE '2026-11-01', DATE '2026-11-03')",
    )
    process.stderr.write(`[dbt spec] incremental dbt build after 3 late events: ${second.durationMs} ms\n`)
    const statuses = runResults()
    expect(statuses["test.shop_pulse.warn_unknown_skus"]).toBe("warn")
    expect(
      Object.entries(statuses).filter(
        ([id, s]) =>
          s !== "success" &&
          s !== "pass" &&
          !id.includes("warn_unknown_skus") &&
          !id.includes("relationships_stg_order_items_sku"),
      ),
    ).toEqual([])
    await expectMartsAgree()
    const [order] = await rows(
      `select event_date::VARCHAR as d, refund_amount::VARCHAR as r, is_returned from ${mart("fct_orders")} where order_id = '${returned.order_id}'`,
    )
    expect(order).toEqual({ d: returned.d, r: "7.77", is_returned: true })
    const [unknown] = await rows(`select category, revenue::VARCHAR as revenue from ${mart("fct_revenue_by_category")}
                                  where event_date = DATE '2026-11-01' and category = 'unknown'`)
    expect(unknown).toEqual({ category: "unknown", revenue: "3.30" })
    const [session] =
      await rows(`select session_date::VARCHAR as d, landing_page_url as landing from ${mart("fct_sessions")}
                                  where session_id = '${moved!.session_id}'`)
    expect(session).toEqual({ d: "2026-11-01", landing: "/" })

    const incremental = await snapshot()
    await dbt(["build", "--full-refresh"])
    expect(await snapshot()).toEqual(incremental)
  }, 240_000)
})
