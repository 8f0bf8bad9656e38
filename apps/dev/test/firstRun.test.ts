import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync } from "node:fs"
import { rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * The first run of `bun run dev --no-superset` on a fresh data directory: within 90 s it has backfilled 28 days
 * of history (record time = event time) and the gold daily facts and the dbt marts cover at least 28 days, so
 * every daily chart has shape from the first minute; a restart on the same directory does not backfill again.
 * Heavy (a backfill, the stream processor, gold and a dbt build on 2 cores): set FIRST_RUN_SPEC=1 to run it
 * (CI: its own step in .ci/run). dbt/.venv is made by the test preload, as on a fresh clone's first bun test.
 */
const enabled = process.env.FIRST_RUN_SPEC === "1"
const dataDir = mkdtempSync(join(tmpdir(), "dev-first-run-"))
// A 28-day lake is thousands of files: removing it can outlast the default 5 s of a hook on a busy machine.
afterAll(() => rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }), 120_000)
const main = join(import.meta.dir, "..", "src", "main.ts")
/** The goal is 90 s; on a machine busy with other work it may be raised (FIRST_RUN_BUDGET_S) to see the figure. */
const BUDGET_MS = Number(process.env.FIRST_RUN_BUDGET_S ?? 90) * 1000

const goldDays = () => {
  const dir = join(dataDir, "gold", "revenue_daily")
  return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith("event_date=")).length : 0
}

const martDays = async (): Promise<number> => {
  const file = join(dataDir, "gold", "dbt", "fct_revenue_daily.parquet")
  if (!existsSync(file)) return 0
  const db = await (await DuckDBInstance.create(":memory:")).connect()
  try {
    const days = (await db.runAndReadAll(`select count(distinct event_date) from read_parquet('${file}')`)).getRows()
    return Number(days[0]![0])
  } finally {
    db.closeSync()
  }
}

const spawn = () =>
  Bun.spawn(["bun", main, "--no-superset"], {
    env: { ...process.env, DATA_DIR: dataDir, DASHBOARD_PORT: "0", DASHBOARD_HOST: "" },
    stdout: "pipe",
    stderr: "pipe",
  })

test.skipIf(!enabled)(
  "first run: 28 days of history in the gold facts and the dbt marts within 90 s; a restart keeps them",
  async () => {
    const started = Date.now()
    const dev = spawn()
    let gold = 0
    let marts = 0
    let goldAt = Number.NaN
    try {
      while (Date.now() - started < BUDGET_MS && dev.exitCode === null) {
        gold = goldDays()
        if (gold >= 28 && Number.isNaN(goldAt)) goldAt = (Date.now() - started) / 1000
        marts = await martDays()
        if (gold >= 28 && marts >= 28) break
        await Bun.sleep(1_000)
      }
    } finally {
      dev.kill("SIGINT")
    }
    const seconds = (Date.now() - started) / 1000
    const err = await new Response(dev.stderr).text()
    await dev.exited
    const history = /\[history\] backfilled (\d+) events in ([\d.]+) s/.exec(err)
    console.error(
      `first run: ${history?.[1]} history events backfilled in ${history?.[2]} s; gold: ${gold} days after ${goldAt.toFixed(0)} s; dbt marts: ${marts} days after ${seconds.toFixed(0)} s`,
    )
    if (gold < 28 || marts < 28) {
      const progress = err.split("\n").filter((l) => /^\[(history|dbt|gold)\] (?!\[)|caught up/.test(l))
      throw new Error(`after ${seconds} s: ${gold} gold days, ${marts} mart days\n${progress.join("\n")}`)
    }
    expect(err).toContain("history:    28 days backfilled first")
    expect(err).toMatch(/\[history\] \[#{30}\] 100% {2}[\d,]+ events of 28 days into events\.raw/)
    // The marts are written as their models finish (dbt's tests may still run when they are all there).
    expect(err).not.toMatch(/\[dbt\] dbt build exited with/)
    expect(err).not.toContain("Traceback")
    if (!err.includes("stopped: all 5")) console.error(`dev's log ends:\n${err.split("\n").slice(-40).join("\n")}`)
    expect(err.trim().split("\n").at(-1)).toBe(
      "stopped: all 5 processes exited (generator, stream, gold, dashboard, dbt)",
    )

    // A restart: no second history.
    const again = Bun.spawn(["bun", main, "--no-superset", "--dbt-every", "off"], {
      env: { ...process.env, DATA_DIR: dataDir, DASHBOARD_PORT: "0", DASHBOARD_HOST: "" },
      stdout: "pipe",
      stderr: "pipe",
    })
    await Bun.sleep(8_000)
    again.kill("SIGINT")
    const err2 = await new Response(again.stderr).text()
    await again.exited
    expect(err2).toContain("history:    kept (not a fresh data directory)")
    expect(err2).not.toContain("[history]")
  },
  BUDGET_MS + 90_000,
)
