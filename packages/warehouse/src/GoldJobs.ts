import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect } from "effect"
import { changedDays, type GoldProgress, readProgress } from "./changedDays.ts"
import { allEventsViewSql, GOLD_FACTS } from "./goldSql.ts"
import { silverViewsSql, sqlString } from "./silverViews.ts"
import { Warehouse } from "./Warehouse.ts"

/** The shop's catalog, shared with the generator and dbt (its `dim_sku` seed). */
export const DEFAULT_CATALOG = resolve(import.meta.dir, "../../../dbt/seeds/dim_sku.csv")

export interface DailyRefresh {
  readonly changedDays: ReadonlyArray<string>
  readonly written: Record<string, number>
}

/**
 * Recomputes the gold daily facts for every day whose Silver changed since the last run (late events and
 * sessions crossing midnight included), writing `gold/<fact>/event_date=<day>/data.parquet` by rename, so a
 * reader sees the old or the new file. Recomputing whole days makes a rerun change nothing.
 */
export const refreshDailyFacts = (root: string, options: { catalog?: string; all?: boolean } = {}) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    const gold = join(root, "gold")
    const progressPath = join(gold, "_progress.json")
    const previous: GoldProgress = options.all === true ? {} : readProgress(progressPath)
    const { days, next } = changedDays(root, previous)
    const written: Record<string, number> = {}
    if (days.size > 0) {
      yield* wh.exec(silverViewsSql(root))
      yield* wh.exec(allEventsViewSql)
      yield* wh.exec(
        `create or replace view dim_sku as select * from read_csv(${sqlString(options.catalog ?? DEFAULT_CATALOG)}, header = true)`,
      )
      const changed = [...days].sort()
      for (const fact of GOLD_FACTS) {
        const affected = (yield* wh.query(
          `select strftime(d, '%Y-%m-%d') as d from (${fact.affected(changed)}) order by 1`,
        )).map((r) => r.d as string)
        if (affected.length === 0) continue
        yield* wh.exec(`create or replace temp table fact as ${fact.sql(affected)}`)
        for (const day of affected) {
          const dir = join(gold, fact.name, `event_date=${day}`)
          mkdirSync(dir, { recursive: true })
          const temp = join(dir, "data.parquet.tmp")
          const rows = yield* wh.query(`select count(*)::INTEGER as n from fact where event_date = DATE '${day}'`)
          if (rows[0]!.n === 0) {
            rmSync(join(dir, "data.parquet"), { force: true })
            continue
          }
          yield* wh.exec(
            `copy (select * exclude (event_date) from fact where event_date = DATE '${day}' order by all) to ${sqlString(temp)} (format parquet)`,
          )
          renameSync(temp, join(dir, "data.parquet"))
        }
        written[fact.name] = affected.length
      }
    }
    mkdirSync(gold, { recursive: true })
    writeFileSync(`${progressPath}.tmp`, JSON.stringify(next))
    renameSync(`${progressPath}.tmp`, progressPath)
    return { changedDays: [...days].sort(), written } satisfies DailyRefresh
  })
