import { existsSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { CommitLogTail, type TailedEntry } from "@shop/lake"
import { DEFAULT_CATALOG, type Row, Warehouse, type WarehouseError } from "@shop/warehouse"
import { Context, Effect, Layer } from "effect"
import { floorMinute, LiveState, MINUTE, type MinutePoint, type OrderRow } from "./LiveState.ts"
import {
  catalogSql,
  dlqRowsSql,
  EVENT_TABLES,
  eventRowsSql,
  goldDaySql,
  goldMinutesSql,
  goldTopProductsSql,
  orderItemRowsSql,
  orderRowsSql,
} from "./liveSql.ts"
import { centsToDecimal } from "./money.ts"

export interface LiveOptions {
  /** The lake root ($DATA_DIR). */
  readonly root: string
  /** At start, fold the Silver commits of this many minutes of record time (older minutes come from gold). */
  readonly bootstrapMinutes?: number
  /** How often the commit logs are checked for new batches. */
  readonly pollMs?: number
  readonly catalog?: string
  readonly log?: (line: string) => void
}

type Funnel = Record<string, string | number | null>

/** What the page shows, as the JSON API returns it. Money is integer cents plus an exact decimal string. */
export interface Snapshot {
  readonly asOf: number
  readonly summary: ReturnType<typeof buildSummary>
  readonly minutes: ReadonlyArray<MinutePoint & { readonly netRevenue: string }>
  readonly topProducts: ReadonlyArray<TopProducts>
  readonly recentOrders: ReadonlyArray<RecentOrder>
  readonly health: Health
}

export interface RecentOrder extends OrderRow {
  readonly total: string
  readonly netRevenue: string
}

export interface TopProducts {
  readonly windowMinutes: number
  readonly source: "live" | "gold" | "none"
  readonly byViews: ReadonlyArray<{ sku: string; name: string; category: string; views: number }>
  readonly byRevenue: ReadonlyArray<{
    sku: string
    name: string
    category: string
    revenueCents: number
    revenue: string
    units: number
  }>
}

export interface Health {
  readonly lag: {
    readonly total: number | null
    readonly partitions: ReadonlyArray<{ partition: number; committed: number; end: number; lag: number }>
    readonly metricsUpdatedAt: string | null
  }
  readonly newestEventTs: number | null
  /** now - newest Silver event_ts, ms. */
  readonly freshnessMs: number | null
  readonly lastCommitAt: string | null
  readonly dlq: {
    readonly minutes: number
    readonly records: number
    readonly dlq: number
    readonly rate: number
    readonly recent: ReadonlyArray<{ code: string; message: string; partition: number; offset: number; at: number }>
  }
  readonly ingest: {
    readonly commits: number
    readonly files: number
    readonly liveFrom: number
    readonly bootstrapMs: number
    readonly lastIngestMs: number
    readonly unreadable: number
    /** False until the commits from before the start are folded in. */
    readonly ready: boolean
  }
}

const buildSummary = (state: LiveState, now: number, point: MinutePoint | undefined, funnel: Funnel | null) => {
  const last = state.lastSixtySeconds(now)
  return {
    lastMinute: { ...last, netRevenue: centsToDecimal(last.netCents) },
    activeSessions: point?.activeSessions ?? 0,
    currentMinute: point ?? null,
    funnel,
  }
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v))

/**
 * The dashboard's data. It follows the lake's commit logs (every 100 ms) and folds the rows of each newly
 * committed Silver file into its own "right now" aggregates, so the page sees an event within a poll of its
 * commit instead of a gold refresh later. Minutes before its start come from `gold/realtime/minute_rollup.parquet`,
 * today's funnel from `gold/funnel_daily`. It only reads Parquet (an in-memory DuckDB), never a database file.
 */
export class LiveData extends Context.Service<
  LiveData,
  {
    readonly snapshot: (now?: number) => Snapshot
    /** The newest orders by event time (up to 500 are kept). */
    readonly recentOrders: (limit: number) => ReadonlyArray<RecentOrder>
    /** Called after new commits were folded in, and at least once a second (ages change). */
    readonly subscribe: (listener: () => void) => () => void
  }
>()("@shop/live/LiveData") {
  static readonly layer = (options: LiveOptions): Layer.Layer<LiveData, WarehouseError, Warehouse> =>
    Layer.effect(LiveData, makeLiveData(options))
}

const makeLiveData = (options: LiveOptions) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    const root = options.root
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
    const pollMs = options.pollMs ?? 100
    const bootstrapMs = (options.bootstrapMinutes ?? 15) * MINUTE
    const started = Date.now()
    const recordFrom = started - bootstrapMs
    // Events may be stamped up to 5 minutes after their record: minutes from recordFrom + 5 min are complete.
    const state = new LiveState(
      Number.isFinite(recordFrom) ? floorMinute(recordFrom + 5 * MINUTE) + MINUTE : Number.NEGATIVE_INFINITY,
    )
    const tail = new CommitLogTail(root)
    const listeners = new Set<() => void>()
    const catalog = new Map<string, { name: string; category: string }>()
    for (const r of yield* wh.query(catalogSql(options.catalog ?? DEFAULT_CATALOG))) {
      catalog.set(String(r.sku), { name: String(r.name), category: String(r.category) })
    }
    const product = (sku: string) => catalog.get(sku) ?? { name: sku, category: "unknown" }

    const ingest = { commits: 0, files: 0, bootstrapMs: 0, lastIngestMs: 0, unreadable: 0 }
    let lastCommitAt: string | null = null

    /** Runs a query over a list of files in chunks; a file that vanished (compaction) is counted, not fatal. */
    const readFiles = (paths: ReadonlyArray<string>, sql: (p: ReadonlyArray<string>) => string) =>
      Effect.gen(function* () {
        const rows: Array<Row> = []
        for (let i = 0; i < paths.length; i += 2_000) {
          const chunk = paths.slice(i, i + 2_000)
          const got = yield* wh.query(sql(chunk)).pipe(
            Effect.catch((e) =>
              Effect.sync(() => {
                ingest.unreadable += chunk.length
                log(`[dashboard] could not read ${chunk.length} files: ${e.message}`)
                return [] as ReadonlyArray<Row>
              }),
            ),
          )
          rows.push(...got)
        }
        return rows
      })

    const fold = (entries: ReadonlyArray<TailedEntry>) =>
      Effect.gen(function* () {
        const now = Date.now()
        const byTable = new Map<string, Array<string>>()
        for (const e of entries) {
          ingest.commits++
          lastCommitAt = e.committedAt
          for (const f of e.files) {
            if (f.table === "bronze/events") {
              state.addRecordsIn(f.rows, e.maxRecordTs, now)
              continue
            }
            const list = byTable.get(f.table) ?? []
            list.push(join(root, f.path))
            byTable.set(f.table, list)
            ingest.files++
          }
        }
        for (const table of EVENT_TABLES) {
          const paths = byTable.get(`silver/${table}`)
          if (paths === undefined) continue
          if (table === "order_placed") {
            const rows = yield* readFiles(paths, orderRowsSql)
            state.addOrders(
              rows.map((r) => ({
                orderId: String(r.order_id),
                sessionId: String(r.session_id),
                userId: r.user_id === null ? null : String(r.user_id),
                ts: num(r.ts),
                recordTs: num(r.record_ts),
                units: num(r.units),
                lineCount: num(r.line_count),
                netCents: num(r.net_cents),
                totalCents: num(r.total_cents),
                paymentMethod: String(r.payment_method),
                country: String(r.country),
                device: String(r.device),
              })),
              now,
            )
            state.addEvents(
              rows.map((r) => ({ type: table, sessionId: String(r.session_id), ts: num(r.ts) })),
              now,
            )
            continue
          }
          const rows = yield* readFiles(paths, (p) => eventRowsSql(table, p))
          state.addEvents(
            rows.map((r) => ({
              type: table,
              sessionId: String(r.session_id),
              ts: num(r.ts),
              pageType: (r.page_type as string | null | undefined) ?? null,
              sku: (r.sku as string | null | undefined) ?? null,
            })),
            now,
          )
        }
        const items = byTable.get("silver/order_item")
        if (items !== undefined) {
          const rows = yield* readFiles(items, orderItemRowsSql)
          state.addOrderItems(
            rows.map((r) => ({
              sku: String(r.sku),
              ts: num(r.ts),
              quantity: num(r.quantity),
              lineTotalCents: num(r.line_total_cents),
            })),
            now,
          )
        }
        const dlq = byTable.get("bronze/dlq")
        if (dlq !== undefined) {
          const rows = yield* readFiles(dlq, dlqRowsSql)
          state.addDlq(
            rows.map((r) => ({
              code: String(r.error_code),
              message: String(r.error_message),
              partition: num(r.source_partition),
              offset: num(r.source_offset),
              sourceTs: num(r.source_ts),
            })),
            now,
          )
        }
        state.prune(now)
      })

    // Gold: the history before this process started, and today's funnel. Re-read when a file changes.
    const gold = {
      minutes: new Map<number, Omit<MinutePoint, "source">>(),
      top: [] as ReadonlyArray<Row>,
      funnel: null as Funnel | null,
      mtimes: new Map<string, number>(),
    }
    const changed = (path: string) => {
      if (!existsSync(path)) return false
      const m = statSync(path).mtimeMs
      if (gold.mtimes.get(path) === m) return false
      gold.mtimes.set(path, m)
      return true
    }
    const refreshGold = Effect.gen(function* () {
      const now = Date.now()
      const rollup = join(root, "gold", "realtime", "minute_rollup.parquet")
      if (changed(rollup)) {
        const rows = yield* wh.query(goldMinutesSql(rollup, floorMinute(now) - 70 * MINUTE, now))
        gold.minutes = new Map(
          rows.map((r) => [
            num(r.minute),
            {
              minute: num(r.minute),
              events: num(r.events),
              pageViews: num(r.page_views),
              activeSessions: num(r.active_sessions),
              addToCarts: num(r.add_to_carts),
              checkouts: num(r.checkouts),
              orders: num(r.orders),
              units: num(r.units),
              netCents: num(r.net_cents),
              dlq: num(r.dlq),
            },
          ]),
        )
      }
      const top = join(root, "gold", "realtime", "top_products.parquet")
      if (changed(top)) gold.top = yield* wh.query(goldTopProductsSql(top))
      const today = new Date(now).toISOString().slice(0, 10)
      const funnel = join(root, "gold", "funnel_daily", `event_date=${today}`, "data.parquet")
      if (!existsSync(funnel)) gold.funnel = null
      else if (changed(funnel)) {
        const row = (yield* wh.query(goldDaySql(funnel)))[0]
        gold.funnel =
          row === undefined ? null : { date: today, ...row, asOf: new Date(statSync(funnel).mtimeMs).toISOString() }
      }
    }).pipe(
      Effect.catch((e) => Effect.sync(() => log(`[dashboard] gold not readable yet: ${e.message.split("\n")[0]}`))),
    )

    const streamMetrics = () => {
      try {
        return JSON.parse(readFileSync(join(root, "_metrics", "stream.json"), "utf8")) as {
          updatedAt: string
          partitions: Health["lag"]["partitions"]
          newestEventTs: string | null
        }
      } catch {
        return null
      }
    }

    const topProducts = (now: number): Array<TopProducts> =>
      [15, 60].map((windowMinutes) => {
        const live = state.topProducts(now, windowMinutes)
        if (live.complete) {
          return {
            windowMinutes,
            source: "live" as const,
            byViews: live.byViews.map((p) => ({ sku: p.sku, ...product(p.sku), views: p.views ?? 0 })),
            byRevenue: live.byRevenue.map((p) => ({
              sku: p.sku,
              ...product(p.sku),
              revenueCents: p.revenueCents ?? 0,
              revenue: centsToDecimal(p.revenueCents ?? 0),
              units: p.units ?? 0,
            })),
          }
        }
        const rows = gold.top.filter((r) => num(r.window_minutes) === windowMinutes)
        return {
          windowMinutes,
          source: rows.length === 0 ? ("none" as const) : ("gold" as const),
          byViews: rows
            .filter((r) => r.ranking === "views")
            .map((r) => ({ sku: String(r.sku), ...product(String(r.sku)), views: num(r.views) })),
          byRevenue: rows
            .filter((r) => r.ranking === "revenue")
            .map((r) => ({
              sku: String(r.sku),
              ...product(String(r.sku)),
              revenueCents: num(r.revenue_cents),
              revenue: centsToDecimal(num(r.revenue_cents)),
              units: num(r.units),
            })),
        }
      })

    const snapshot = (now = Date.now()): Snapshot => {
      const minutes = state.series(now, 60, gold.minutes).map((p) => ({ ...p, netRevenue: centsToDecimal(p.netCents) }))
      const metrics = streamMetrics()
      const newest = state.newestEventTs ?? (metrics?.newestEventTs == null ? null : Date.parse(metrics.newestEventTs))
      const dlq = state.dlqRate(now, 5)
      return {
        asOf: now,
        summary: buildSummary(state, now, minutes.at(-1), gold.funnel),
        minutes,
        topProducts: topProducts(now),
        recentOrders: state.recentOrders(20).map(withMoney),
        health: {
          lag: {
            total: metrics === null ? null : metrics.partitions.reduce((s, p) => s + p.lag, 0),
            partitions: metrics?.partitions ?? [],
            metricsUpdatedAt: metrics?.updatedAt ?? null,
          },
          newestEventTs: newest,
          freshnessMs: newest === null ? null : now - newest,
          lastCommitAt,
          dlq: {
            ...dlq,
            recent: state.recentDlq(5).map((d) => ({
              code: d.code,
              message: d.message,
              partition: d.partition,
              offset: d.offset,
              at: d.sourceTs,
            })),
          },
          ingest: { ...ingest, liveFrom: state.liveFrom, ready: state.ready },
        },
      }
    }

    // Bootstrap (in the background, so the page is up at once and shows gold meanwhile): every committed batch
    // whose newest record is recent enough; then follow the logs.
    const bootstrap = Effect.gen(function* () {
      const t0 = performance.now()
      yield* fold(tail.poll().filter((e) => e.maxRecordTs >= recordFrom))
      ingest.bootstrapMs = Math.round(performance.now() - t0)
      state.ready = true
      log(
        `[dashboard] folded ${ingest.commits} recent commits (${ingest.files} files) in ${ingest.bootstrapMs} ms; live from ${new Date(state.liveFrom).toISOString()}`,
      )
    })
    yield* refreshGold

    const notify = () => {
      for (const l of listeners) l()
    }
    let lastNotify = 0
    let lastGold = 0
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        yield* bootstrap
        for (;;) {
          const entries = tail.poll()
          if (entries.length > 0) {
            const t = performance.now()
            yield* fold(entries)
            ingest.lastIngestMs = Math.round(performance.now() - t)
          }
          if (Date.now() - lastGold >= 1_000) {
            lastGold = Date.now()
            yield* refreshGold
          }
          if (entries.length > 0 || Date.now() - lastNotify >= 1_000) {
            lastNotify = Date.now()
            notify()
          }
          yield* Effect.sleep(pollMs)
        }
      }).pipe(Effect.catchCause((cause) => Effect.sync(() => log(`[dashboard] live data stopped: ${String(cause)}`)))),
    )

    return LiveData.of({
      snapshot,
      recentOrders: (limit) => state.recentOrders(limit).map(withMoney),
      subscribe: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    })
  })

const withMoney = (o: OrderRow): RecentOrder => ({
  ...o,
  total: centsToDecimal(o.totalCents),
  netRevenue: centsToDecimal(o.netCents),
})
