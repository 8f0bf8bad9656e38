/** Independent readers of the lake for the specs: DuckDB over the Parquet globs, and pyarrow. */

import { expect } from "bun:test"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { type GeneratorStats, sumValid } from "@shop/generator"

export const duckdb = async (root: string) => {
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  const glob = (table: string) =>
    `read_parquet('${join(root, table)}/*/*.parquet', hive_partitioning = true, union_by_name = true)`
  return {
    glob,
    /** Rows of a query as plain objects (BIGINT and DECIMAL come back as strings or numbers). */
    rows: async (sql: string): Promise<Array<Record<string, unknown>>> =>
      (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>,
    count: async (table: string): Promise<number> => {
      const r = (
        await connection.runAndReadAll(`select count(*)::INTEGER as n from ${glob(table)}`)
      ).getRowObjectsJson()
      return Number(r[0]!.n)
    },
    close: () => connection.closeSync(),
  }
}

/** Row counts of every Parquet file under `root/table` read by pyarrow (a second, independent reader). */
export const pyarrowCount = (root: string, table: string): number => {
  const python = process.env.PYTHON
  if (python === undefined) throw new Error("PYTHON is not set: the test preload (scripts/testSetup.ts) sets it")
  const script = [
    "import sys, pyarrow.dataset as ds",
    "d = ds.dataset(sys.argv[1], format='parquet', partitioning='hive')",
    "t = d.to_table()",
    "print(t.num_rows)",
  ].join("\n")
  const proc = Bun.spawnSync([python, "-c", script, join(root, table)])
  if (proc.exitCode !== 0) throw new Error(`pyarrow failed to read ${table}: ${proc.stderr.toString()}`)
  return Number(proc.stdout.toString().trim())
}

/** Silver holds exactly the generator's accepted events: the count per type, and no event_id twice. */
export const expectSilverMatches = async (db: Awaited<ReturnType<typeof duckdb>>, stats: GeneratorStats) => {
  for (const [type, n] of Object.entries(stats.valid)) expect(await db.count(`silver/${type}`)).toBe(n)
  const union = Object.keys(stats.valid)
    .map((t) => `select event_id from ${db.glob(`silver/${t}`)}`)
    .join(" union all ")
  const [ids] = await db.rows(`select count(*)::INTEGER as n, count(distinct event_id)::INTEGER as d from (${union})`)
  expect(ids!.n).toBe(sumValid(stats))
  expect(ids!.d).toBe(sumValid(stats))
}
