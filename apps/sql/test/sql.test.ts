import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * `bun run sql` over a small lake written here with DuckDB: Silver, a gold fact and a dbt mart as Parquet, and
 * dbt's own DuckDB file held open for writing by this process (as a running `dbt build` holds it). The views
 * must answer from the Parquet, and the program must never open that file (it would fail on DuckDB's lock).
 */
const dataDir = mkdtempSync(join(tmpdir(), "sql-test-"))
const main = join(import.meta.dir, "..", "src", "main.ts")
let dbtFile: DuckDBConnection
let scratch: DuckDBConnection

beforeAll(async () => {
  scratch = await (await DuckDBInstance.create(":memory:")).connect()
  const write = async (dir: string, file: string, select: string) => {
    mkdirSync(join(dataDir, dir), { recursive: true })
    await scratch.run(`copy (${select}) to '${join(dataDir, dir, file)}' (format parquet)`)
  }
  for (const day of ["2026-11-01", "2026-11-02"]) {
    await write(
      `silver/page_view/event_date=${day}`,
      "p0.parquet",
      `select 'e' || i as event_id, 'u' || (i % 3) as user_id from range(${day === "2026-11-01" ? 5 : 7}) t(i)`,
    )
    await write(`gold/revenue_daily/event_date=${day}`, "part.parquet", `select 12.5::decimal(18,2) as net_revenue`)
  }
  await write("gold/dbt", "fct_orders.parquet", "select 'o1' as order_id, 20.0 as total union all select 'o2', 22.5")
  // A half-written mart (dbt's tmp_ file before its rename) is not a view.
  await write("gold/dbt", "tmp_fct_orders.parquet", "select 'x' as order_id")
  mkdirSync(join(dataDir, "dbt"), { recursive: true })
  dbtFile = await (await DuckDBInstance.create(join(dataDir, "dbt", "shop_pulse.duckdb"))).connect()
  await dbtFile.run("create table held as select 1 as x")
})
afterAll(() => {
  dbtFile.closeSync()
  scratch.closeSync()
  rmSync(dataDir, { recursive: true, force: true })
})

const sql = async (args: ReadonlyArray<string>, stdin?: string) => {
  const proc = Bun.spawn(["bun", main, ...args], {
    env: { ...process.env, DATA_DIR: dataDir },
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
  })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { out, err, code }
}

test("a query over silver, gold and dbt views prints a table", async () => {
  const r = await sql([
    "select event_date::varchar as day, count(*) as views from silver.page_view group by 1 order by 1",
  ])
  expect(r.err).toBe("")
  expect(r.code).toBe(0)
  expect(r.out.trim().split("\n")).toEqual([
    "day         views",
    "----------  -----",
    "2026-11-01  5",
    "2026-11-02  7",
    "(2 rows)",
  ])
  const j = await sql([
    "--json",
    "select (select sum(net_revenue) from gold.revenue_daily)::double as gold, (select sum(total) from dbt.fct_orders)::double as dbt",
  ])
  expect(j.code).toBe(0)
  expect(JSON.parse(j.out)).toEqual({ gold: 25, dbt: 42.5 })
})

test("--tables lists the views by layer; dbt's tmp_ files are not among them", async () => {
  const r = await sql(["--tables"])
  const views = r.out.trim().split("\n")
  expect(views).toContain("silver.page_view")
  expect(views).toContain("silver.order_placed") // empty but typed while it has no files
  expect(views).toContain("gold.revenue_daily")
  expect(views).toContain("dbt.fct_orders")
  expect(views).not.toContain("dbt.tmp_fct_orders")
})

test("without a query: a prompt reading statements from stdin", async () => {
  const r = await sql([], "select count(*) as n\nfrom silver.page_view;\n.quit\n")
  expect(r.code).toBe(0)
  expect(r.out).toContain("12")
})

test("a bad query: one line saying what is wrong and what to do, exit 1", async () => {
  const r = await sql(["select * from silver.nope"])
  expect(r.code).toBe(1)
  expect(r.out).toBe("")
  const lines = r.err.trim().split("\n")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: Catalog Error: .*nope.* \(bun run sql -- --tables lists the views\)$/)
})
