import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { ALL_TABLES, type ColumnType, lakeLayout, type TableSchema } from "@shop/lake"

const duckType: Record<ColumnType, string> = {
  string: "VARCHAR",
  int32: "INTEGER",
  int64: "BIGINT",
  double: "DOUBLE",
  bool: "BOOLEAN",
  timestamp_ms: "TIMESTAMP",
  money_cents: "DECIMAL(18,2)",
  bytes: "BLOB",
}

const hasFiles = (dir: string) =>
  existsSync(dir) &&
  readdirSync(dir).some(
    (d) => lakeLayout.dateOfDayDir(d) !== undefined && readdirSync(join(dir, d)).some((f) => f.endsWith(".parquet")),
  )

/** A quoted SQL string literal. */
export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`

/**
 * One view per lake table, named like the table without its layer (`page_view`, `dlq`, `events`): the Parquet
 * files when there are any, else an empty relation of the same columns, so gold SQL runs on a young lake too.
 */
export const silverViewsSql = (root: string, tables: ReadonlyArray<TableSchema> = ALL_TABLES): string =>
  tables
    .map((t) => {
      const view = t.name.split("/")[1]!
      const dir = join(root, t.name)
      if (hasFiles(dir)) {
        return `create or replace view ${view} as select * from read_parquet(${sqlString(`${dir}/*/*.parquet`)}, hive_partitioning = true, union_by_name = true);`
      }
      const columns = t.columns.map((c) => `null::${duckType[c.type]} as ${c.name}`).join(", ")
      return `create or replace view ${view} as select ${columns}, null::DATE as event_date where false;`
    })
    .join("\n")
