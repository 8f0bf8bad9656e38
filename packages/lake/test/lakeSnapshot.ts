/** Independent fingerprints of the lake for the compaction specs: DuckDB over the Parquet globs. */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { TOPIC_RAW } from "@shop/contract"
import { Effect } from "effect"
import { ALL_TABLES, Lake } from "../src/index.ts"

/** Whether the lake under `root` has committed events.raw up to `ends` (the broker's end offsets). */
export const caughtUp = async (root: string, ends: ReadonlyArray<{ partition: number; offset: number }>) => {
  const committed = await Effect.runPromise(
    Lake.use((l) => l.committedOffsets(TOPIC_RAW)).pipe(Effect.provide(Lake.layerAt(root))),
  )
  return ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.offset)
}

export type Fingerprint = Record<string, Record<string, unknown>>

const connect = async () => (await DuckDBInstance.create(":memory:")).connect()

export const globOf = (root: string, table: string) =>
  `read_parquet('${join(root, table)}/*/*.parquet', hive_partitioning = true, union_by_name = true)`

/**
 * Per table, read by glob (as dbt or Superset would): rows, distinct keys (the sort columns, which hold the
 * table's identity), a hash of every row's content (order-free), every money column summed to the cent, and
 * rows per day.
 */
export const lakeFingerprint = async (root: string): Promise<Fingerprint> => {
  const db = await connect()
  try {
    const out: Fingerprint = {}
    for (const t of ALL_TABLES) {
      if (!existsSync(join(root, t.name))) continue
      const key = `concat_ws(':', ${(t.sortBy ?? []).map((c) => `"${c}"`).join(", ")})`
      const money = t.columns
        .filter((c) => c.type === "money_cents")
        .map((c) => `sum("${c.name}")::VARCHAR as "${c.name}"`)
      const [row] = (
        await db.runAndReadAll(
          `select count(*)::INTEGER as rows, count(distinct ${key})::INTEGER as keys,
                  sum(hash(columns(*))::HUGEINT)::VARCHAR as content, md5(string_agg(${key}, ',' order by ${key})) as key_hash,
                  ${[...money, "(select string_agg(d, ',' order by d) from (select event_date || '=' || count(*) as d from " + globOf(root, t.name) + " group by event_date)) as per_day"].join(", ")}
           from ${globOf(root, t.name)}`,
        )
      ).getRowObjectsJson()
      out[t.name] = row as Record<string, unknown>
    }
    return out
  } finally {
    db.closeSync()
  }
}

/** Every gold daily fact's full content (sorted rows as JSON), read by glob. */
export const goldFingerprint = async (root: string): Promise<Record<string, string>> => {
  const db = await connect()
  try {
    const out: Record<string, string> = {}
    const gold = join(root, "gold")
    for (const fact of readdirSync(gold)
      .filter((f) => f !== "realtime" && !f.startsWith("_"))
      .sort()) {
      const rows = (
        await db.runAndReadAll(`select * from ${globOf(root, `gold/${fact}`)} order by all`)
      ).getRowObjectsJson()
      out[fact] = JSON.stringify(rows)
    }
    return out
  } finally {
    db.closeSync()
  }
}

/** Parquet files visible to a glob reader, per table. */
export const fileCounts = (root: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const t of ALL_TABLES) {
    const dir = join(root, t.name)
    if (!existsSync(dir)) continue
    out[t.name] = readdirSync(dir)
      .filter((d) => d.startsWith("event_date="))
      .reduce((s, d) => s + readdirSync(join(dir, d)).filter((f) => f.endsWith(".parquet")).length, 0)
  }
  return out
}
