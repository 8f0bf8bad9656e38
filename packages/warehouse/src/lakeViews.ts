import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { ALL_TABLES, lakeLayout } from "@shop/lake"
import { silverViewsSql, sqlString } from "./silverViews.ts"

const dirs = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : []
const parquetFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".parquet")) : [])

/** The views `lakeViewsSql` makes: `schema.name` and what each reads. */
export interface LakeView {
  readonly schema: "bronze" | "silver" | "gold" | "dbt"
  readonly name: string
  readonly sql: string
}

/**
 * Every table of the lake under `root` as a read-only view over its Parquet files, by layer: `bronze.events`,
 * `silver.page_view` (every Silver table, empty but typed while it has no files), `gold.revenue_daily` (the gold
 * daily facts), `gold.minute_rollup` and `gold.top_products` (the right-now rollups) and `dbt.fct_orders` (the dbt
 * marts, opened by name as their writer asks). Never a DuckDB database file: dbt's own stays dbt's.
 */
export const lakeViews = (root: string): Array<LakeView> => {
  const views: Array<LakeView> = []
  for (const table of ALL_TABLES) {
    const [layer, name] = table.name.split("/") as ["bronze" | "silver", string]
    const sql = silverViewsSql(root, [table])
      .replace(/^create or replace view \S+ as /, "")
      .replace(/;$/, "")
    views.push({ schema: layer, name, sql })
  }
  const gold = lakeLayout.goldDir(root)
  for (const fact of dirs(gold)) {
    if (fact === "dbt" || fact === "realtime" || fact.startsWith("_") || fact.startsWith(".")) continue
    const hasDays = dirs(join(gold, fact)).some(
      (d) => lakeLayout.dateOfDayDir(d) !== undefined && parquetFiles(join(gold, fact, d)).length > 0,
    )
    if (!hasDays) continue
    views.push({
      schema: "gold",
      name: fact,
      sql: `select * from read_parquet(${sqlString(join(gold, fact, "*", "*.parquet"))}, hive_partitioning = true, union_by_name = true)`,
    })
  }
  for (const file of parquetFiles(join(gold, "realtime"))) {
    views.push({
      schema: "gold",
      name: file.replace(/\.parquet$/, ""),
      sql: `select * from read_parquet(${sqlString(join(gold, "realtime", file))})`,
    })
  }
  for (const file of parquetFiles(join(gold, "dbt"))) {
    if (file.startsWith("tmp_")) continue
    views.push({
      schema: "dbt",
      name: file.replace(/\.parquet$/, ""),
      sql: `select * from read_parquet(${sqlString(join(gold, "dbt", file))})`,
    })
  }
  return views
}

/** The statements that create `lakeViews(root)` in a DuckDB (schemas first). */
export const lakeViewsSql = (root: string): string => {
  const views = lakeViews(root)
  const schemas = [...new Set(views.map((v) => v.schema))]
  return [
    ...schemas.map((s) => `create schema if not exists ${s};`),
    ...views.map((v) => `create or replace view ${v.schema}.${v.name} as ${v.sql};`),
  ].join("\n")
}
