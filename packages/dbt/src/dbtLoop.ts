import { Effect, Schedule } from "effect"
import { Dbt } from "./Dbt.ts"
import { hasPython } from "./dbtProject.ts"

// dbt prints a line per model and test; a loop that runs every few minutes keeps only what a person needs.
const chatty = /^(\d\d:\d\d:\d\d)?\s*$|\d+ of \d+ (START|OK|PASS)\b|Running with dbt|Registered adapter|Concurrency:/

/**
 * `dbt build` every `intervalMs` over `dataDir` (the first after `firstAfterMs`, default at most 30 s), for `bun run dev`. Says once and stops when Python is missing;
 * a failed build is logged and retried next time, never stopping the caller. Runs until interrupted.
 */
export const dbtLoop = (
  dataDir: string,
  intervalMs: number,
  log: (line: string) => void,
  options: { readonly firstAfterMs?: number } = {},
) =>
  Effect.gen(function* () {
    if (!hasPython()) {
      log("[dbt] python3 not found: the periodic dbt build is off (install Python 3.11+ for the dbt marts)")
      return
    }
    const dbt = yield* Dbt
    const build = dbt
      .run(["build"], dataDir, (line) => {
        const text = line.replace(/\x1b\[[0-9;]*m/g, "")
        if (!chatty.test(text)) log(`[dbt] ${text}`)
      })
      .pipe(
        Effect.match({
          onSuccess: (r) => log(`[dbt] build ok in ${(r.durationMs / 1000).toFixed(1)} s; marts in gold/dbt/`),
          onFailure: (e) =>
            log(`[dbt] ${e.message}; the marts keep their last good files, retrying in ${intervalMs / 1000} s`),
        }),
      )
    // Let the first events reach Silver before the first build (and keep short dev runs free of dbt).
    yield* Effect.sleep(options.firstAfterMs ?? Math.min(intervalMs, 30_000))
    yield* Effect.repeat(build, Schedule.spaced(intervalMs))
  })
