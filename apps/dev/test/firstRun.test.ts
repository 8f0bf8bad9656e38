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

/** Sessions with an event in Silver (every table that carries session_id). */
const SESSION_TABLES = ["page_view", "add_to_cart", "remove_from_cart", "search", "checkout_started", "order_placed"]

/**
 * From Silver, independently of gold: the median sessions of a full history day (not the first day, which starts
 * mid-day, nor today) and the sessions active in the 5 minutes up to the newest event (what the live page shows).
 */
const sessionFigures = async (): Promise<{ perDay: number; active5: number }> => {
  const files = SESSION_TABLES.map((t) => `'${join(dataDir, "silver", t)}/*/*.parquet'`).join(", ")
  const db = await (await DuckDBInstance.create(":memory:")).connect()
  try {
    const rows = await db.runAndReadAll(`
      with ev as (select session_id, event_ts from read_parquet([${files}], union_by_name = true)),
      newest as (select max(event_ts) as t from ev),
      days as (select event_ts::date as d, count(distinct session_id) as sessions from ev group by 1)
      select (select median(sessions) from days
              where d < (select t from newest)::date and d > (select min(d) from days))::DOUBLE,
             (select count(distinct session_id) from ev where event_ts > (select t from newest) - interval 5 minute)::DOUBLE`)
    const [perDay, active5] = rows.getRows()[0]!
    return { perDay: Number(perDay), active5: Number(active5) }
  } finally {
    db.closeSync()
  }
}

/** All of a child's stderr, kept as it arrives, with the time each line was seen. */
const collect = (stream: ReadableStream<Uint8Array>) => {
  const seen: Array<{ line: string; at: number }> = []
  let text = ""
  let partial = ""
  const done = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      const piece = decoder.decode(chunk, { stream: true })
      text += piece
      const lines = (partial + piece).split("\n")
      partial = lines.pop()!
      for (const line of lines) seen.push({ line, at: Date.now() })
    }
  })()
  return { seen, done, text: () => text }
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
    const log = collect(dev.stderr)
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
    const stoppedAt = Date.now()
    const seconds = (stoppedAt - started) / 1000
    await dev.exited
    await log.done
    const err = log.text()
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

    // One shop: the live shop runs at the history's rate, so the live page and the daily charts agree. Before,
    // the live shop made 50 events/s against the history's 0.05/s: ~2,100 sessions active in 5 minutes beside
    // ~800 sessions a day, which a shop owner reads as a bug.
    const historyEps = Number(history![1]) / (28 * 86_400)
    const liveAt = log.seen.find((l) => /^\[history\] 28 days in Silver in .* the live shop continues/.test(l.line))?.at
    const liveRecords = Number(/\[generator\] stopped after (\d+) records/.exec(err)?.[1])
    expect(liveAt).toBeDefined()
    const expectedLive = (historyEps * (stoppedAt - liveAt!)) / 1000
    const { perDay, active5 } = await sessionFigures()
    console.error(
      `shop size: history ${historyEps.toFixed(3)} events/s, ${perDay} sessions a day; live ${liveRecords} records in ${((stoppedAt - liveAt!) / 1000).toFixed(0)} s (${expectedLive.toFixed(1)} at the history's rate); ${active5} sessions active in the last 5 minutes`,
    )
    // Paced by count: within a couple of records of the history's rate over the live seconds.
    expect(Math.abs(liveRecords - expectedLive)).toBeLessThanOrEqual(Math.max(3, expectedLive / 2))
    // A 5-minute window of a day whose sessions last minutes holds ~1 % of its sessions (~2 % at the evening
    // peak); 5 % is the most a consistent shop shows, ~260 % was the bug.
    expect(active5).toBeLessThanOrEqual(perDay / 20)
    expect(perDay).toBeGreaterThan(100)

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
