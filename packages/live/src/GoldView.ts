import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import { lakeLayout } from "@shop/lake"
import type { Row, Warehouse } from "@shop/warehouse"
import { Clock, Effect, Result } from "effect"
import { num } from "./foldCommits.ts"
import { floorMinute, MINUTE, type MinutePoint } from "./LiveState.ts"
import { goldDaySql, goldMinutesSql, goldTopProductsSql } from "./liveSql.ts"
import type { Funnel } from "./Snapshot.ts"

/** A file's identity (inode, size, mtime), or "gone". */
const fileId = (path: string) => {
  try {
    const s = statSync(path)
    return `${s.ino}:${s.size}:${s.mtimeMs}`
  } catch {
    return "gone"
  }
}

/**
 * What the dashboard takes from gold: the minute rollup (minutes before its own state starts), top products
 * (until its state covers the hour) and today's funnel. `refreshGold` re-reads a file only when it changed.
 */
export const makeGoldView = (wh: Warehouse["Service"], root: string, log: (line: string) => void) => {
  const gold = {
    minutes: new Map<number, Omit<MinutePoint, "source">>(),
    top: [] as ReadonlyArray<Row>,
    funnel: null as Funnel | null,
    mtimes: new Map<string, number>(),
  }
  const changed = (path: string) => existsSync(path) && gold.mtimes.get(path) !== statSync(path).mtimeMs
  /**
   * Reads a gold file, which its writer replaces by rename every second. DuckDB opens a path more than once in
   * one query (schema, then data), so a rename in between reads one file's footer against the other's bytes
   * ("TProtocolException: Invalid data"). So a read counts only if the file was the same one before and after
   * it; otherwise it is read again (the next one sees the new file whole).
   */
  const readStable = (path: string, sql: string) =>
    Effect.gen(function* () {
      for (let attempt = 1; ; attempt++) {
        const before = fileId(path)
        const result = yield* Effect.result(wh.query(sql))
        const after = fileId(path)
        if (before === after || attempt >= 20) {
          if (Result.isSuccess(result)) {
            gold.mtimes.set(path, Number(before.split(":")[2]))
            return result.success
          }
          return yield* Effect.fail(result.failure)
        }
        yield* Effect.sleep(attempt)
      }
    })
  const refreshGold = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const rollup = join(lakeLayout.goldRealtimeDir(root), "minute_rollup.parquet")
    if (changed(rollup)) {
      const rows = yield* readStable(rollup, goldMinutesSql(rollup, floorMinute(now) - 70 * MINUTE, now))
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
            bots: num(r.bots),
          },
        ]),
      )
    }
    const top = join(lakeLayout.goldRealtimeDir(root), "top_products.parquet")
    if (changed(top)) gold.top = yield* readStable(top, goldTopProductsSql(top))
    const today = new Date(now).toISOString().slice(0, 10)
    const funnel = lakeLayout.goldFactFile(root, "funnel_daily", today)
    if (!existsSync(funnel)) gold.funnel = null
    else if (changed(funnel)) {
      const row = (yield* readStable(funnel, goldDaySql(funnel)))[0]
      gold.funnel =
        row === undefined ? null : { date: today, ...row, asOf: new Date(statSync(funnel).mtimeMs).toISOString() }
    }
  }).pipe(Effect.catch((e) => Effect.sync(() => log(`[dashboard] gold not readable yet: ${e.message.split("\n")[0]}`))))

  return { gold, refreshGold }
}
