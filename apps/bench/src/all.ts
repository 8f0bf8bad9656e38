import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import type { Figure } from "./report.ts"

const MAIN = resolve(import.meta.dir, "main.ts")
const RESULTS = resolve(import.meta.dir, "../../../bench/results")

interface Target {
  readonly bench: string
  readonly what: string
  /** Picks the figure the target is about from that bench's figures. */
  readonly pick: (figures: ReadonlyArray<Figure>) => Figure | undefined
  readonly ok: (value: number) => boolean
  readonly goal: string
}

const best = (figures: ReadonlyArray<Figure>, test: (f: Figure) => boolean) =>
  figures.filter(test).sort((a, b) => b.value - a.value)[0]

/** The targets, each checked against the figure printed in this run. */
const TARGETS: ReadonlyArray<Target> = [
  {
    bench: "broker",
    what: "embedded broker produce",
    pick: (fs) => fs.find((f) => f.name === "1 partition: produce" && f.unit === "records/s"),
    ok: (v) => v >= 300_000,
    goal: ">= 300,000 records/s",
  },
  {
    bench: "broker",
    what: "embedded broker consume",
    pick: (fs) => fs.find((f) => f.name === "1 partition: consume" && f.unit === "records/s"),
    ok: (v) => v >= 300_000,
    goal: ">= 300,000 records/s",
  },
  {
    bench: "stream",
    what: "stream processor, best configuration",
    pick: (fs) => best(fs, (f) => f.name.startsWith("pipeline,") && f.unit === "events/s"),
    ok: (v) => v >= 100_000,
    goal: ">= 100,000 events/s",
  },
  {
    bench: "freshness",
    what: "freshness p95, produced -> dashboard API",
    pick: (fs) => fs.find((f) => /p95/.test(f.name) && /dashboard|api/i.test(f.name)),
    ok: (v) => v < 2_000,
    goal: "< 2,000 ms",
  },
  {
    bench: "freshness",
    what: "freshness p95, produced -> gold minute rollup",
    pick: (fs) => fs.find((f) => f.name === "produced -> gold minute rollup: p95"),
    ok: (v) => v < 2_000,
    goal: "< 2,000 ms",
  },
  {
    bench: "soak",
    what: "processor peak RSS at 10k eps",
    pick: (fs) => fs.find((f) => f.name.endsWith("processor peak RSS")),
    ok: (v) => v < 300,
    goal: "< 300 MB",
  },
]

const newestResult = (bench: string, since: number): ReadonlyArray<Figure> | undefined => {
  let files: Array<string> = []
  try {
    files = readdirSync(RESULTS).filter((f) => f.startsWith(`${bench}-`) && f.endsWith(".json"))
  } catch {
    return undefined
  }
  const runs = files
    .map((f) => JSON.parse(readFileSync(join(RESULTS, f), "utf8")) as { at: string; figures: Array<Figure> })
    .filter((r) => Date.parse(r.at) >= since)
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
  return runs[0]?.figures
}

/** Runs one bench as its own process (so each starts with a fresh heap) and streams its output. */
const runBench = (args: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    console.log(`\n>>> bun run bench ${args.join(" ")}`)
    const t0 = performance.now()
    const child = Bun.spawn(["bun", MAIN, ...args], { stdout: "inherit", stderr: "inherit" })
    const code = await child.exited
    return { code, seconds: (performance.now() - t0) / 1000 }
  })

/** Every benchmark in one run, then the targets met or missed. */
export const allBench = Command.make(
  "all",
  {
    soakSeconds: Flag.Int("soak-seconds").pipe(
      Flag.withDescription("How long the 10k eps memory soak runs"),
      Flag.withDefault(600),
    ),
    sizes: Flag.String("sizes").pipe(
      Flag.withDescription("Lake sizes for gold/dbt (first built by the pipeline, the others scaled)"),
      Flag.withDefault("1M,5M,20M"),
    ),
  },
  ({ soakSeconds, sizes }) =>
    Effect.gen(function* () {
      const since = Date.now()
      const lakes = mkdtempSync(join(tmpdir(), "bench-all-lakes-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(lakes, { recursive: true, force: true })))
      const timings: Array<string> = []
      const failed: Array<string> = []
      const sequential = (args: ReadonlyArray<string>) =>
        Effect.gen(function* () {
          const run = yield* runBench(args)
          timings.push(`${args[0]} ${Math.round(run.seconds)} s`)
          if (run.code !== 0) failed.push(args[0]!)
        })
      yield* sequential(["broker", "--records", "500000"])
      yield* sequential(["stream", "--events", "300000"])
      yield* sequential(["freshness", "--eps", "1000", "--seconds", "60"])
      // The 10-minute memory soak needs about half a core (10k events/s through generator and processor), so it
      // runs beside the gold and dbt scaling runs to keep the whole suite under 15 minutes; its output is
      // printed when it ends. Gold/dbt timings are therefore taken on a machine that is not otherwise idle.
      console.log(`\n>>> bun run bench soak --eps 10000 --seconds ${soakSeconds} (in the background)`)
      const soakStarted = performance.now()
      const soak = Bun.spawn(["bun", MAIN, "soak", "--eps", "10000", "--seconds", String(soakSeconds)], {
        stdout: "pipe",
        stderr: "pipe",
      })
      const soakOutput = Promise.all([new Response(soak.stdout).text(), new Response(soak.stderr).text()])
      yield* sequential(["gold", "--sizes", sizes, "--lakes", lakes])
      yield* sequential(["dbt", "--sizes", sizes, "--lakes", lakes])
      const [soakCode, [out, err]] = yield* Effect.promise(() => Promise.all([soak.exited, soakOutput]))
      console.log(`\n>>> soak (ran beside gold and dbt)\n${err}${out}`)
      timings.push(`soak ${Math.round((performance.now() - soakStarted) / 1000)} s (in parallel)`)
      if (soakCode !== 0) failed.push("soak")
      console.log(`\nall benchmarks (${timings.join(", ")}, total ${Math.round((Date.now() - since) / 1000)} s)`)
      for (const t of TARGETS) {
        const figure = t.pick(newestResult(t.bench, since) ?? [])
        const verdict = figure === undefined ? "not measured" : t.ok(figure.value) ? "met" : "MISSED"
        const value = figure === undefined ? "-" : `${Math.round(figure.value).toLocaleString("en-US")} ${figure.unit}`
        console.log(`  ${t.what.padEnd(44)} ${value.padStart(22)}   target ${t.goal.padEnd(22)} ${verdict}`)
      }
      if (failed.length > 0) return yield* Effect.die(new Error(`benchmarks failed: ${failed.join(", ")}`))
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Every benchmark in one run (under 15 minutes), then the targets met or missed"))
