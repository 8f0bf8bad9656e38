import { Effect, Schedule } from "effect"
import { Dbt } from "./Dbt.ts"
import { hasPython } from "./dbtProject.ts"

// dbt prints a line per model and test; a loop that runs every few minutes keeps only what a person needs.
const chatty = /^(\d\d:\d\d:\d\d)?\s*$|\d+ of \d+ (START|OK|PASS)\b|Running with dbt|Registered adapter|Concurrency:/

/**
 * `dbt build` every `intervalMs` over `dataDir` (the first after `firstAfterMs`, default at most 30 s), for `bun run dev`. Says once and stops when Python is missing;
 * a failed build is logged and retried next time, never stopping the caller. Runs until interrupted.
 */
export const dbtLoop = (dataDir: string, intervalMs: number, options: { readonly firstAfterMs?: number } = {}) =>
  Effect.gen(function* () {
    if (!hasPython()) {
      return yield* Effect.log(
        "python3 not found: the periodic dbt build is off (install Python 3.11+ for the dbt marts)",
      )
    }
    const dbt = yield* Dbt
    // dbt's output comes through a plain callback: into this fiber's logger.
    const services = yield* Effect.context<never>()
    const log = (line: string) => Effect.runSyncWith(services)(Effect.log(line))
    const build = dbt
      .run(["build"], dataDir, (line) => {
        const text = line.replace(/\x1b\[[0-9;]*m/g, "")
        if (!chatty.test(text)) log(text)
      })
      .pipe(
        // Ctrl-C of dev: one line instead of dbt's KeyboardInterrupt traceback.
        Effect.onInterrupt(() => Effect.log("build stopped (interrupted); the marts keep their last good files")),
        Effect.matchEffect({
          onSuccess: (r) => Effect.log(`build ok in ${(r.durationMs / 1000).toFixed(1)} s; marts in gold/dbt/`),
          onFailure: (e) =>
            Effect.log(`${e.message}; the marts keep their last good files, retrying in ${intervalMs / 1000} s`),
        }),
      )
    // Let the first events reach Silver before the first build (and keep short dev runs free of dbt).
    yield* Effect.sleep(options.firstAfterMs ?? Math.min(intervalMs, 30_000))
    yield* Effect.repeat(build, Schedule.spaced(intervalMs))
  }).pipe(Effect.annotateLogs("component", "dbt"))
