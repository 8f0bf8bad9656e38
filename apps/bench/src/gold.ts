import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DBT_PROJECT_DIR, dbtEnv, hasPython, prepareDbt } from "@shop/dbt"
import { sqlString, Warehouse } from "@shop/warehouse"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { type Figure, report, watchPeakRss } from "./report.ts"
import { type BaseLake, buildBaseLake, runChild, scaleLake } from "./scaledLake.ts"

export interface ScaledLake {
  readonly dataDir: string
  readonly events: number
  readonly days: number
}

/** The base lake (real pipeline) and its scaled-up copies, one per size; sizes must be multiples of the first. */
export const buildLakes = (root: string, sizes: ReadonlyArray<number>, baseDays: number) =>
  Effect.gen(function* () {
    const manifest = join(root, `lakes-${sizes.join("-")}-${baseDays}d.json`)
    if (existsSync(manifest)) {
      process.stderr.write(`reusing the lakes in ${root}\n`)
      return JSON.parse(readFileSync(manifest, "utf8")) as { base: BaseLake; lakes: Array<ScaledLake> }
    }
    const base: BaseLake = yield* buildBaseLake(root, sizes[0]!, baseDays)
    const lakes: Array<ScaledLake> = [base]
    for (const size of sizes.slice(1)) {
      process.stderr.write(`scaling the lake to ${size.toLocaleString("en-US")} events with DuckDB...\n`)
      lakes.push(yield* scaleLake(base, root, Math.round(size / base.events)))
    }
    writeFileSync(manifest, JSON.stringify({ base, lakes }))
    return { base, lakes }
  }).pipe(Effect.provide(Warehouse.layer))

/** `bun run gold --all` on each lake: wall time, events/s and peak RSS, plus DuckDB's own Parquet rate. */
export const goldFigures = (lakes: ReadonlyArray<ScaledLake>) =>
  Effect.gen(function* () {
    const wh = yield* Warehouse
    const figures: Array<Figure> = []
    for (const lake of lakes) {
      const label = `${(lake.events / 1e6).toLocaleString("en-US")}M events, ${lake.days} days`
      process.stderr.write(`gold --all over ${label}...\n`)
      const run = yield* Effect.promise(() => runChild(["apps/gold/src/main.ts", "--all"], { DATA_DIR: lake.dataDir }))
      // For scale: DuckDB reading the biggest Silver table and writing it as Parquet, in this process.
      const glob = sqlString(`${lake.dataDir}/silver/page_view/*/*.parquet`)
      const t = performance.now()
      const rows = yield* wh.query(
        `copy (select * from read_parquet(${glob}, hive_partitioning = true)) to ${sqlString(`${lake.dataDir}/copy-check.parquet`)} (format parquet)`,
      )
      const copyMs = performance.now() - t
      const copied = Number(rows[0]?.Count ?? rows[0]?.count ?? 0)
      figures.push(
        { name: `${label}: gold --all`, value: run.ms / 1000, unit: "s" },
        { name: `${label}: gold --all`, value: lake.events / (run.ms / 1000), unit: "events/s" },
        { name: `${label}: gold --all peak RSS`, value: run.rssMb, unit: "MB" },
        { name: `${label}: DuckDB Parquet read+write (page_view)`, value: copied / (copyMs / 1000), unit: "rows/s" },
      )
    }
    return figures
  }).pipe(Effect.provide(Warehouse.layer))

export const parseSizes = (text: string) =>
  text.split(",").map((s) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim())
    if (m === null) throw new Error(`not a size: ${s} (e.g. 1M, 500k, 20000000)`)
    const unit = m[2]!.toLowerCase() === "m" ? 1e6 : m[2]!.toLowerCase() === "k" ? 1e3 : 1
    return Math.round(Number(m[1]) * unit)
  })

export const sizesFlag = Flag.String("sizes").pipe(
  Flag.withDescription("Lake sizes in events; the first is built by the real pipeline, the others scaled from it"),
  Flag.withDefault("1M,5M,20M"),
)
export const baseDaysFlag = Flag.Int("base-days").pipe(
  Flag.withDescription("Days of history in the base lake"),
  Flag.withDefault(7),
)

export const lakesFlag = Flag.String("lakes").pipe(
  Flag.withDescription("Keep the lakes in this directory and reuse them when present (bench all shares them)"),
  Flag.optional,
)

/** A temporary directory removed with the scope, or the caller's directory kept as it is. */
export const lakesRoot = (keep: Option.Option<string>) =>
  Option.match(keep, {
    onSome: (dir) =>
      Effect.sync(() => {
        mkdirSync(dir, { recursive: true })
        return dir
      }),
    onNone: () =>
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "bench-lakes-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
      ),
  })

/** Gold build time as the lake grows: 1M events through the real pipeline, 5M and 20M scaled from it. */
export const goldBench = Command.make(
  "gold",
  { sizes: sizesFlag, baseDays: baseDaysFlag, lakes: lakesFlag },
  ({ sizes, baseDays, lakes: keep }) =>
    Effect.gen(function* () {
      const root = yield* lakesRoot(keep)
      const { base, lakes } = yield* buildLakes(root, parseSizes(sizes), baseDays)
      const figures = yield* goldFigures(lakes)
      report("gold", figures, { sizes, baseDays, basePipelineSeconds: base.pipelineMs / 1000 })
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Gold daily facts build time at growing lake sizes (DuckDB over Silver)"))

/** Runs dbt itself (the Python process, so its RSS is the one followed) over one lake. */
const runDbt = (dataDir: string, args: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const dbt = prepareDbt(dataDir)
    const t0 = performance.now()
    const child = Bun.spawn([dbt, ...args], {
      cwd: DBT_PROJECT_DIR,
      env: dbtEnv(dataDir),
      stdout: "pipe",
      stderr: "pipe",
    })
    const rss = watchPeakRss(child.pid)
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()])
    const ms = performance.now() - t0
    const rssMb = rss.stop()
    if (code !== 0) throw new Error(`dbt ${args.join(" ")} exited ${code}:\n${out.slice(-3000)}`)
    return { ms, rssMb }
  })

/** `dbt build` on each lake (the first build, then again with nothing new): wall time and peak RSS. */
export const dbtFigures = (lakes: ReadonlyArray<ScaledLake>) =>
  Effect.gen(function* () {
    const figures: Array<Figure> = []
    for (const lake of lakes) {
      const label = `${(lake.events / 1e6).toLocaleString("en-US")}M events, ${lake.days} days`
      process.stderr.write(`dbt build over ${label}...\n`)
      const first = yield* runDbt(lake.dataDir, ["build"])
      process.stderr.write(`dbt build again (nothing new) over ${label}...\n`)
      const again = yield* runDbt(lake.dataDir, ["build"])
      figures.push(
        { name: `${label}: dbt build`, value: first.ms / 1000, unit: "s" },
        { name: `${label}: dbt build`, value: lake.events / (first.ms / 1000), unit: "events/s" },
        { name: `${label}: dbt build peak RSS`, value: first.rssMb, unit: "MB" },
        { name: `${label}: dbt build, nothing new`, value: again.ms / 1000, unit: "s" },
      )
    }
    return figures
  })

/** dbt build time as the lake grows, on the same lakes as `bench gold` (shared with --lakes). */
export const dbtBench = Command.make(
  "dbt",
  { sizes: sizesFlag, baseDays: baseDaysFlag, lakes: lakesFlag },
  ({ sizes, baseDays, lakes: keep }) =>
    Effect.gen(function* () {
      if (!hasPython()) return yield* Effect.die(new Error("bench dbt needs python3 (dbt runs in dbt/.venv)"))
      const root = yield* lakesRoot(keep)
      const { lakes } = yield* buildLakes(root, parseSizes(sizes), baseDays)
      report("dbt", yield* dbtFigures(lakes), { sizes, baseDays })
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("dbt build time at growing lake sizes (dbt-duckdb over Silver)"))
