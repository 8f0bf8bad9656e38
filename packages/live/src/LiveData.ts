import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Lake } from "@shop/lake"
import { DEFAULT_CATALOG, Warehouse, type WarehouseError } from "@shop/warehouse"
import { Clock, Context, Effect, Layer, Schedule } from "effect"
import { foldCommits, type IngestCounters, num } from "./foldCommits.ts"
import { makeGoldView } from "./GoldView.ts"
import { floorMinute, LiveState, MINUTE } from "./LiveState.ts"
import { catalogSql } from "./liveSql.ts"
import { centsToDecimal } from "./money.ts"
import { buildSummary, type Health, type RecentOrder, type Snapshot, type TopProducts, withMoney } from "./Snapshot.ts"

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
  static readonly layer = (options: LiveOptions): Layer.Layer<LiveData, WarehouseError, Warehouse | Lake> =>
    Layer.effect(LiveData, makeLiveData(options))
}

const makeLiveData = (options: LiveOptions) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    const root = options.root
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
    const pollMs = options.pollMs ?? 100
    const bootstrapMs = (options.bootstrapMinutes ?? 15) * MINUTE
    const started = yield* Clock.currentTimeMillis
    const recordFrom = started - bootstrapMs
    // Events may be stamped up to 5 minutes after their record: minutes from recordFrom + 5 min are complete.
    const state = new LiveState(
      Number.isFinite(recordFrom) ? floorMinute(recordFrom + 5 * MINUTE) + MINUTE : Number.NEGATIVE_INFINITY,
    )
    const tail = yield* (yield* Lake).tail
    const listeners = new Set<() => void>()
    const catalog = new Map<string, { name: string; category: string }>()
    for (const r of yield* wh.query(catalogSql(options.catalog ?? DEFAULT_CATALOG))) {
      catalog.set(String(r.sku), { name: String(r.name), category: String(r.category) })
    }
    const product = (sku: string) => catalog.get(sku) ?? { name: sku, category: "unknown" }

    const ingest: IngestCounters = {
      commits: 0,
      files: 0,
      bootstrapMs: 0,
      lastIngestMs: 0,
      unreadable: 0,
      lastCommitAt: null,
    }
    const fold = foldCommits(wh, root, state, ingest, log)
    const { gold, refreshGold } = makeGoldView(wh, root, log)

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
        summary: buildSummary(state, now, minutes, gold.funnel),
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
          lastCommitAt: ingest.lastCommitAt,
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
          ingest: {
            commits: ingest.commits,
            files: ingest.files,
            bootstrapMs: ingest.bootstrapMs,
            lastIngestMs: ingest.lastIngestMs,
            unreadable: ingest.unreadable,
            liveFrom: state.liveFrom,
            ready: state.ready,
          },
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
    // -Infinity: the first poll refreshes gold and notifies whatever the clock says.
    let lastNotify = Number.NEGATIVE_INFINITY
    let lastGold = Number.NEGATIVE_INFINITY
    const pollOnce = Effect.gen(function* () {
      const entries = tail.poll()
      if (entries.length > 0) {
        const t = performance.now()
        yield* fold(entries)
        ingest.lastIngestMs = Math.round(performance.now() - t)
      }
      if ((yield* Clock.currentTimeMillis) - lastGold >= 1_000) {
        lastGold = yield* Clock.currentTimeMillis
        yield* refreshGold
      }
      const now = yield* Clock.currentTimeMillis
      if (entries.length > 0 || now - lastNotify >= 1_000) {
        lastNotify = now
        notify()
      }
    })
    yield* Effect.forkScoped(
      bootstrap.pipe(
        Effect.andThen(Effect.repeat(pollOnce, Schedule.spaced(pollMs))),
        Effect.catchCause((cause) => Effect.sync(() => log(`[dashboard] live data stopped: ${String(cause)}`))),
      ),
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
