import { mkdirSync, rmSync } from "node:fs"
import { join, resolve } from "node:path"
import { publishFile, writeFileDurably } from "@shop/fsio"
import { ALL_TABLES, Lake, lakeError, lakeLayout, withTablesReadLocked } from "@shop/lake"
import { Effect } from "effect"
import { type GoldProgress, readProgress } from "./goldProgress.ts"
import { allEventsViewSql, GOLD_FACTS } from "./goldSql.ts"
import { minuteRollupSql, topProductsSql } from "./realtimeSql.ts"
import { silverViewsSql, sqlString } from "./silverViews.ts"
import { Warehouse } from "./Warehouse.ts"

/** The shop's catalog, shared with the generator and dbt (its `dim_sku` seed). */
export const DEFAULT_CATALOG = resolve(import.meta.dir, "../../../dbt/seeds/dim_sku.csv")

const defineViews = (root: string, catalog: string) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    yield* wh.exec(silverViewsSql(root))
    yield* wh.exec(allEventsViewSql)
    yield* wh.exec(`create or replace view dim_sku as select * from read_csv(${sqlString(catalog)}, header = true)`)
  })

/**
 * Gold reads the lake by glob; holding the tables' shared swap locks while it does means no compaction swaps a
 * day's directory in the middle of a query (which could make DuckDB miss a file it had listed).
 */
const readingLake = <A, E, R>(root: string, effect: Effect.Effect<A, E, R>) =>
  withTablesReadLocked(
    root,
    ALL_TABLES.map((t) => t.name),
    effect,
  )

/** A gold file write: a full disk is LakeDiskFull, other failures LakeIOError, each one line saying what to do. */
const goldIO = <A>(what: string, root: string, f: () => A) =>
  Effect.try({
    try: f,
    catch: (cause) =>
      lakeError(what, cause, { root, consequence: "the gold file was not replaced (the old one stays)" }),
  })

/**
 * Writes a query's result as one Parquet file, replaced atomically by rename: DuckDB writes the temp file, which
 * is fsynced and read back (PAR1 at both ends, footer length) before the rename, so a reader never gets a
 * truncated file.
 */
export const writeParquet = (sql: string, path: string) =>
  Effect.gen(function* () {
    yield* goldIO(`creating ${join(path, "..")}`, join(path, ".."), () =>
      mkdirSync(join(path, ".."), { recursive: true }),
    )
    yield* (yield* Warehouse).exec(`copy (${sql}) to ${sqlString(`${path}.tmp`)} (format parquet)`)
    yield* goldIO(`publishing ${path}`, join(path, ".."), () => publishFile(`${path}.tmp`, path, { parquet: true }))
  }).pipe(
    // A COPY that failed (a full disk) may leave its partial temp file: give the space back.
    Effect.onError(() => Effect.sync(() => rmSync(`${path}.tmp`, { force: true })).pipe(Effect.ignore)),
  )

/**
 * The "right now" rollups for the live page: `gold/realtime/minute_rollup.parquet` (per minute, last 48 h) and
 * `gold/realtime/top_products.parquet` (last 15 and 60 min), as of `now`.
 */
export const refreshRealtime = (root: string, now: number, options: { catalog?: string } = {}) =>
  readingLake(
    root,
    Effect.gen(function* () {
      yield* defineViews(root, options.catalog ?? DEFAULT_CATALOG)
      const dir = lakeLayout.goldRealtimeDir(root)
      yield* writeParquet(minuteRollupSql(now), join(dir, "minute_rollup.parquet"))
      yield* writeParquet(topProductsSql(now), join(dir, "top_products.parquet"))
    }),
  )

export interface DailyRefresh {
  readonly changedDays: ReadonlyArray<string>
  readonly written: Record<string, number>
}

/**
 * Recomputes the gold daily facts for every day whose Silver changed since the last run (late events and
 * sessions crossing midnight included), writing `gold/<fact>/event_date=<day>/data.parquet` by rename, so a
 * reader sees the old or the new file. Recomputing whole days makes a rerun change nothing.
 */
export const refreshDailyFacts = (options: { catalog?: string; all?: boolean } = {}) =>
  Effect.gen(function* () {
    const lake = yield* Lake
    const root = lake.root
    return yield* readingLake(
      root,
      Effect.gen(function* () {
        const wh = yield* Warehouse
        const gold = lakeLayout.goldDir(root)
        const progressPath = join(gold, "_progress.json")
        const previous: GoldProgress = options.all === true ? {} : readProgress(progressPath)
        const { days: since, next } = yield* lake.changedDays(previous)
        const days = new Set(since)
        const written: Record<string, number> = {}
        if (options.all === true) {
          // Every day Silver holds, also files that no commit log names (a restored or scaled-up lake).
          yield* defineViews(root, options.catalog ?? DEFAULT_CATALOG)
          for (const row of yield* wh.query(
            "select distinct strftime(event_date, '%Y-%m-%d') as d from all_events where event_date is not null",
          ))
            days.add(row.d as string)
        }
        if (days.size > 0) {
          yield* defineViews(root, options.catalog ?? DEFAULT_CATALOG)
          const changed = [...days].sort()
          for (const fact of GOLD_FACTS) {
            const affected = (yield* wh.query(
              `select strftime(d, '%Y-%m-%d') as d from (${fact.affected(changed)}) order by 1`,
            )).map((r) => r.d as string)
            if (affected.length === 0) continue
            yield* wh.exec(`create or replace temp table fact as ${fact.sql(affected)}`)
            for (const day of affected) {
              const file = lakeLayout.goldFactFile(root, fact.name, day)
              const rows = yield* wh.query(`select count(*)::INTEGER as n from fact where event_date = DATE '${day}'`)
              if (rows[0]!.n === 0) {
                rmSync(file, { force: true })
                continue
              }
              yield* writeParquet(
                `select * exclude (event_date) from fact where event_date = DATE '${day}' order by all`,
                file,
              )
            }
            written[fact.name] = affected.length
          }
        }
        yield* goldIO(`writing ${progressPath}`, gold, () => {
          mkdirSync(gold, { recursive: true })
          writeFileDurably(progressPath, JSON.stringify(next), { temp: `${progressPath}.tmp` })
        })
        return { changedDays: [...days].sort(), written } satisfies DailyRefresh
      }),
    )
  })
