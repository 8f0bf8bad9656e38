import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { ALL_TABLES } from "@shop/lake"
import { sqlString, Warehouse } from "@shop/warehouse"
import { Effect } from "effect"
import { watchPeakRss } from "./report.ts"

const ROOT = resolve(import.meta.dir, "../../..")

/** Runs a repo script as a child process and fails with its stderr; returns wall ms and peak RSS (MB). */
export const runChild = async (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const t0 = performance.now()
  const child = Bun.spawn(["bun", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  })
  const rss = watchPeakRss(child.pid)
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ])
  const ms = performance.now() - t0
  const rssMb = rss.stop()
  if (code !== 0) throw new Error(`bun ${args.join(" ")} exited ${code}:\n${stderr.slice(-2000)}`)
  return { ms, rssMb, stdout, stderr }
}

export interface BaseLake {
  readonly dataDir: string
  readonly events: number
  readonly days: number
  /** Wall time of `bun run pipeline --available-now` over the base events (includes its one gold run). */
  readonly pipelineMs: number
}

/**
 * A real lake of `events` generated events: backfilled over `days` days into the embedded broker, then
 * `bun run pipeline --available-now` (Bronze, Silver, DLQ, gold once).
 */
export const buildBaseLake = (root: string, events: number, days: number) =>
  Effect.promise(async (): Promise<BaseLake> => {
    const dataDir = join(root, `lake-${events}`)
    mkdirSync(dataDir, { recursive: true })
    const end = "2026-11-01T00:00:00Z"
    // Whole events/s as the generator takes; --max-events trims the window's end.
    const eps = Math.ceil(events / (days * 86_400))
    process.stderr.write(`generating ${events.toLocaleString("en-US")} events over ${days} days (not timed)...\n`)
    await runChild(
      [
        "apps/generator/src/main.ts",
        "--backfill-days",
        String(days),
        "--eps",
        String(eps),
        "--max-events",
        String(events),
        "--end",
        end,
        "--seed",
        "7",
      ],
      { DATA_DIR: dataDir },
    )
    process.stderr.write("running the pipeline --available-now over them...\n")
    const run = await runChild(["apps/stream/src/main.ts", "--available-now"], { DATA_DIR: dataDir })
    return { dataDir, events, days, pipelineMs: run.ms }
  })

const ID_COLUMNS = new Set(["event_id", "anonymous_id", "user_id", "session_id", "order_id"])
const TS_COLUMNS = new Set(["event_ts", "record_ts", "ingested_at", "source_ts", "failed_at"])

/**
 * A lake `copies` times as big as `base`, made by DuckDB from the base's Silver: copy k is shifted k x `days`
 * days into the past, with fresh ids (md5 of id and k, shaped as a UUID), so every copy is a distinct stretch
 * of history with the generator's own mix of events. Generating 20M events through the pipeline would take
 * the whole benchmark budget; this takes seconds and exercises the same SQL on the same shapes.
 */
export const scaleLake = (base: BaseLake, root: string, copies: number) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    const dataDir = join(root, `lake-${base.events * copies}`)
    for (const table of ALL_TABLES.filter((t) => t.name.startsWith("silver/"))) {
      const columns = table.columns.map((c) => {
        if (ID_COLUMNS.has(c.name)) {
          const h = `md5(${c.name} || ':' || k)`
          return `case when k = 0 or ${c.name} is null then ${c.name} else concat_ws('-', substr(${h}, 1, 8), substr(${h}, 9, 4), substr(${h}, 13, 4), substr(${h}, 17, 4), substr(${h}, 21, 12)) end as ${c.name}`
        }
        if (TS_COLUMNS.has(c.name)) return `${c.name} - to_days((k * ${base.days})::INTEGER) as ${c.name}`
        return c.name
      })
      const out = join(dataDir, table.name)
      mkdirSync(out, { recursive: true })
      yield* wh.exec(`
        copy (
          select ${columns.join(", ")}, (event_ts - to_days((k * ${base.days})::INTEGER))::DATE as event_date
          from read_parquet(${sqlString(`${join(base.dataDir, table.name)}/*/*.parquet`)}, hive_partitioning = true, union_by_name = true)
          cross join (select range as k from range(${copies}))
        ) to ${sqlString(out)} (format parquet, partition_by (event_date), overwrite_or_ignore true)`)
    }
    return { dataDir, events: base.events * copies, days: base.days * copies }
  })
