import { Effect, Schedule } from "effect"
import { Dbt } from "./Dbt.ts"
import { hasPython } from "./dbtProject.ts"

// dbt prints a line per model and test; a loop that runs every few minutes keeps only what a person needs.
const chatty = /^(\d\d:\d\d:\d\d)?\s*$|\d+ of \d+ (START|OK|PASS)\b|Running with dbt|Registered adapter|Concurrency:/
/** DuckDB's words for a lake Parquet file that was listed, then merged away by compaction before it was read. */
const lakeFileGone = /Cannot open file ".*\/(silver|bronze)\/.*\.parquet": No such file or directory/
/** After such a race the build runs again this soon (at most twice), not an interval later. */
const RACE_RETRY_MS = 5_000

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
    let raced = false
    const once = Effect.suspend(() => {
      raced = false
      return dbt.run(["build"], dataDir, (line) => {
        const text = line.replace(/\x1b\[[0-9;]*m/g, "")
        if (lakeFileGone.test(text)) raced = true
        if (!chatty.test(text)) log(text)
      })
    })
    const build = once.pipe(
      // The file set changed under the build (compaction swapped a day's files): the next listing is whole.
      Effect.tapError((e) =>
        raced
          ? Effect.log(
              `a lake file was merged away by compaction while dbt read it (${e.message}); building again in ${RACE_RETRY_MS / 1000} s`,
            )
          : Effect.void,
      ),
      Effect.retry({ while: () => raced, times: 2, schedule: Schedule.spaced(RACE_RETRY_MS) }),
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
