import { forwardLines } from "@shop/runtime"
import { Context, Effect, Layer, Schema } from "effect"
import { DBT_CLI, hasPython } from "./dbtProject.ts"

/** Python 3 is not installed, so dbt cannot run here. */
export class DbtUnavailable extends Schema.TaggedError<DbtUnavailable>()("DbtUnavailable", {
  message: Schema.String,
}) {}

/** dbt ran and exited non-zero (a model or test error, or the venv could not be installed). */
export class DbtFailed extends Schema.TaggedError<DbtFailed>()("DbtFailed", {
  message: Schema.String,
  exitCode: Schema.Number,
}) {}

export interface DbtRun {
  readonly durationMs: number
}

/**
 * Runs dbt commands over a lake. Each run is a child process (`bun run dbt`'s entry): dbt's memory and any crash
 * stay out of the caller, and interrupting the run stops it.
 */
export class Dbt extends Context.Service<
  Dbt,
  {
    /** `dbt <args>` over `dataDir`; every output line goes to `onLine`. */
    readonly run: (
      args: ReadonlyArray<string>,
      dataDir: string,
      onLine: (line: string) => void,
    ) => Effect.Effect<DbtRun, DbtFailed | DbtUnavailable>
  }
>()("@shop/dbt/Dbt") {
  static readonly layer: Layer.Layer<Dbt> = Layer.succeed(
    Dbt,
    Dbt.of({
      run: (args, dataDir, onLine) =>
        Effect.suspend((): Effect.Effect<DbtRun, DbtFailed | DbtUnavailable> => {
          if (!hasPython()) {
            return Effect.fail(new DbtUnavailable({ message: "python3 is not on PATH: dbt needs Python 3.11+" }))
          }
          const started = performance.now()
          // Once the run is being stopped its last words (a KeyboardInterrupt traceback) are not forwarded.
          let stopping = false
          const forward = (line: string) => {
            if (!stopping) onLine(line)
          }
          return Effect.acquireUseRelease(
            Effect.sync(() =>
              Bun.spawn(["bun", DBT_CLI, ...args], {
                env: { ...process.env, DATA_DIR: dataDir },
                stdin: "ignore",
                stdout: "pipe",
                stderr: "pipe",
              }),
            ),
            (child) =>
              Effect.promise(async () => {
                await Promise.all([forwardLines(child.stdout, forward), forwardLines(child.stderr, forward)])
                return child.exited
              }).pipe(
                Effect.flatMap((exitCode) =>
                  exitCode === 0
                    ? Effect.succeed({ durationMs: Math.round(performance.now() - started) })
                    : Effect.fail(
                        new DbtFailed({ message: `dbt ${args.join(" ")} exited with ${exitCode}`, exitCode }),
                      ),
                ),
              ),
            (child) =>
              Effect.promise(async () => {
                stopping = true
                if (child.exitCode === null) child.kill("SIGTERM")
                await child.exited
              }),
          )
        }),
    }),
  )
}
