import { existsSync } from "node:fs"
import { join } from "node:path"
import { EVENT_TYPES, TOPIC_RAW } from "@shop/contract"
import { filesNowHolding, Lake, lakeLayout, type TailedEntry, withTablesReadLocked } from "@shop/lake"
import { Effect } from "effect"
import { writeParquet } from "./GoldJobs.ts"
import { COUNTED_ORDER, HUMAN } from "./goldSql.ts"
import { minuteRollupSql, type RollupSources, topProductsSql } from "./realtimeSql.ts"
import { sqlString } from "./silverViews.ts"
import { Warehouse } from "./Warehouse.ts"

const MINUTE = 60_000

/** The minute rollup over the incremental tables: the same SQL as over Silver, other sources. */
const INCREMENTAL_SOURCES: RollupSources = {
  sessionMinutes: (lo, hi) =>
    `select * from rt_session_minutes where minute >= ${lo} and minute < ${hi} + interval 1 minute`,
  orders: (lo) => `
    select date_trunc('minute', event_ts) as minute, count(*) as orders, sum(units) as units,
           sum(net_revenue) as net_revenue
    from rt_orders where event_ts >= ${lo} group by 1`,
  rejected: (lo) => `select minute, sum(dlq_records) as dlq_records from rt_dlq where minute >= ${lo} group by 1`,
  bots: (lo) => `select minute, sum(bot_events) as bot_events from rt_bots where minute >= ${lo} group by 1`,
}

const ts = (ms: number) => `epoch_ms(${Math.floor(ms)})`

/** The lake tables the rollups read. */
const READ_TABLES = [...EVENT_TYPES.map((t) => `silver/${t}`), "silver/order_item", "bronze/dlq"]

/** Where a batch's rows come from: its files, or (when compaction merged them away) its offsets in the table. */
type Source = (table: string) => string | undefined

/**
 * The "right now" rollups kept incrementally, so a refresh costs the new batches instead of a rescan of every
 * small Silver file (which grew to seconds within a minute of live data). Small per-minute tables in the
 * warehouse (sessions per minute with their event counts, orders, DLQ counts; product views and order lines of
 * the last hour) are fed from the lake's commit logs; each refresh runs the same rollup SQL as over Silver.
 * Start-up reads Silver once, limited to the offsets committed at that moment, then follows the logs from there:
 * no batch is counted twice and none is missed, and files merged by compaction are read by their offsets.
 */
export const makeRealtimeRollups = (catalog: string) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    const lake = yield* Lake
    const root = lake.root
    const tail = yield* lake.tail
    let started = false

    yield* wh.exec(`
      create or replace table rt_session_minutes (session_id VARCHAR, minute TIMESTAMP, events BIGINT,
        page_views BIGINT, add_to_carts BIGINT, checkouts BIGINT);
      create or replace table rt_orders (event_ts TIMESTAMP, units BIGINT, net_revenue DECIMAL(18,2));
      create or replace table rt_dlq (minute TIMESTAMP, dlq_records BIGINT);
      create or replace table rt_bots (minute TIMESTAMP, bot_events BIGINT);
      create or replace table rt_page_views (event_ts TIMESTAMP, page_type VARCHAR, sku VARCHAR, is_bot BOOLEAN);
      create or replace table rt_order_items (event_ts TIMESTAMP, sku VARCHAR, quantity BIGINT, line_total DECIMAL(18,2),
        is_bot BOOLEAN, trusted BOOLEAN);`)

    /** Adds the rows `source` names for each table, keeping only what the rollups can still use. */
    const ingest = (source: Source, now: number) =>
      Effect.gen(function* () {
        const from = ts(now - 48 * 60 * MINUTE - 10 * MINUTE)
        const hourAgo = ts(now - 61 * MINUTE)
        const events = EVENT_TYPES.flatMap((t) => {
          const rel = source(`silver/${t}`)
          return rel === undefined ? [] : [`select session_id, event_type, event_ts, is_bot from ${rel}`]
        })
        if (events.length > 0) {
          yield* wh.exec(`
            insert into rt_session_minutes
            select session_id, date_trunc('minute', event_ts), count(*),
                   count(*) filter (where event_type = 'page_view'), count(*) filter (where event_type = 'add_to_cart'),
                   count(*) filter (where event_type = 'checkout_started')
            from (${events.join(" union all ")}) where ${HUMAN} and event_ts >= ${from} group by all`)
          yield* wh.exec(`
            insert into rt_bots select date_trunc('minute', event_ts), count(*)
            from (${events.join(" union all ")}) where is_bot and event_ts >= ${from} group by 1`)
        }
        const views = source("silver/page_view")
        if (views !== undefined) {
          yield* wh.exec(`insert into rt_page_views select event_ts, page_type, sku, is_bot from ${views}
                          where page_type = 'product' and ${HUMAN} and event_ts >= ${hourAgo}`)
        }
        const orders = source("silver/order_placed")
        if (orders !== undefined) {
          yield* wh.exec(`insert into rt_orders select event_ts, units, subtotal - discount from ${orders}
                          where ${COUNTED_ORDER} and event_ts >= ${from}`)
        }
        const items = source("silver/order_item")
        if (items !== undefined) {
          yield* wh.exec(`insert into rt_order_items select event_ts, sku, quantity, line_total, is_bot, trusted from ${items}
                          where ${COUNTED_ORDER} and event_ts >= ${hourAgo}`)
        }
        const dlq = source("bronze/dlq")
        if (dlq !== undefined) {
          yield* wh.exec(`insert into rt_dlq select date_trunc('minute', source_ts), count(*) from ${dlq}
                          where source_ts >= ${from} group by 1`)
        }
      })

    const tableGlob = (table: string) =>
      `read_parquet(${sqlString(join(root, table, "*", "*.parquet"))}, hive_partitioning = true, union_by_name = true)`
    const hasFiles = (table: string) => existsSync(join(root, table))

    /** A table's rows whose source offsets satisfy `where`; order lines (no offsets) through their orders. */
    const rowsAt = (table: string, where: string) => {
      if (!hasFiles(table)) return undefined
      if (table !== "silver/order_item") return `(select * from ${tableGlob(table)} where ${where})`
      return hasFiles("silver/order_placed")
        ? `(select * from ${tableGlob(table)} where event_id in (select event_id from ${tableGlob("silver/order_placed")} where ${where}))`
        : undefined
    }

    /** Rows of committed offsets only (partition -> next offset), read from the tables as they are now. */
    const committedRows = (committed: ReadonlyMap<number, number>): Source => {
      const bound = `case source_partition ${[...committed].map(([p, n]) => `when ${p} then ${n}`).join(" ")} else 0 end`
      const within = `source_offset < ${committed.size === 0 ? "0" : bound}`
      return (table) => rowsAt(table, within)
    }

    /**
     * The rows of newly committed batches: their files while in place; for a file compaction merged away since,
     * the files that hold its rows now, filtered to its batch (offsets; order lines through their orders).
     * Read under the tables' swap locks (see `refresh`), so the files named here stay put until read.
     */
    const batchRows = (entries: ReadonlyArray<TailedEntry>): Source => {
      const byTable = new Map<string, Array<{ entry: TailedEntry; path: string }>>()
      for (const e of entries) {
        for (const f of e.files) {
          const list = byTable.get(f.table) ?? []
          list.push({ entry: e, path: f.path })
          byTable.set(f.table, list)
        }
      }
      const parquet = (paths: ReadonlyArray<string>) =>
        `read_parquet([${paths.map((p) => sqlString(join(root, p))).join(", ")}], union_by_name = true)`
      const rel = (table: string, only?: ReadonlySet<TailedEntry>): string | undefined => {
        const files = (byTable.get(table) ?? []).filter((f) => only === undefined || only.has(f.entry))
        if (files.length === 0) return undefined
        const held = filesNowHolding(
          root,
          table,
          files.map((f) => f.path),
        )
        const parts: Array<string> = []
        if (held.inPlace.length > 0) parts.push(`select * from ${parquet(held.inPlace)}`)
        if (held.successors.length > 0) {
          const inPlace = new Set(held.inPlace)
          const gone = new Set(files.filter((f) => !inPlace.has(f.path)).map((f) => f.entry))
          if (table !== "silver/order_item") {
            const within = [...gone]
              .map((e) => `(source_partition = ${e.partition} and source_offset between ${e.from} and ${e.to})`)
              .join(" or ")
            parts.push(`select * from ${parquet(held.successors)} where ${within}`)
          } else {
            const orders = rel("silver/order_placed", gone)
            if (orders !== undefined) {
              parts.push(`select * from ${parquet(held.successors)} where event_id in (select event_id from ${orders})`)
            }
          }
        }
        return parts.length === 0 ? undefined : `(${parts.join(" union all by name ")})`
      }
      return (table) => rel(table)
    }

    /** Folds in what was committed since the last call and rewrites both rollup files as of `now`. */
    const refresh = (now: number) =>
      Effect.gen(function* () {
        if (!started) {
          // Everything committed up to this poll is read from the tables; later batches come from the logs.
          tail.poll()
          const committed = new Map<number, number>()
          for (const [key, next] of tail.committed) {
            if (key.startsWith(`${TOPIC_RAW}/`)) committed.set(Number(key.slice(TOPIC_RAW.length + 1)), next)
          }
          yield* withTablesReadLocked(root, READ_TABLES, ingest(committedRows(committed), now))
          yield* wh.exec(
            `create or replace view dim_sku as select * from read_csv(${sqlString(catalog)}, header = true)`,
          )
          started = true
        } else {
          const entries = tail.poll().filter((e) => e.topic === TOPIC_RAW)
          // No compaction swaps a directory while the batches' files are listed and read.
          if (entries.length > 0) yield* withTablesReadLocked(root, READ_TABLES, ingest(batchRows(entries), now))
        }
        yield* wh.exec(`
          delete from rt_session_minutes where minute < ${ts(now)} - interval 48 hour - interval 10 minute;
          delete from rt_orders where event_ts < ${ts(now)} - interval 48 hour - interval 10 minute;
          delete from rt_dlq where minute < ${ts(now)} - interval 48 hour - interval 10 minute;
          delete from rt_bots where minute < ${ts(now)} - interval 48 hour - interval 10 minute;
          delete from rt_page_views where event_ts < ${ts(now)} - interval 61 minute;
          delete from rt_order_items where event_ts < ${ts(now)} - interval 61 minute;`)
        const dir = lakeLayout.goldRealtimeDir(root)
        yield* writeParquet(minuteRollupSql(now, INCREMENTAL_SOURCES), join(dir, "minute_rollup.parquet"))
        yield* writeParquet(topProductsSql(now, "rt_page_views", "rt_order_items"), join(dir, "top_products.parquet"))
      })
    return { refresh }
  })
