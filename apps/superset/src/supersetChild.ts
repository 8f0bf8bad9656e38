import { join } from "node:path"
import { Effect } from "effect"

/** The child's command line. */
export const supersetChildArgs = (port: number, host: string): Array<string> => [
  "bun",
  join(import.meta.dir, "main.ts"),
  "--port",
  String(port),
  "--host",
  host,
]

/**
 * `bun run superset` as a child process of `bun run dev`: its own process because the first run spends minutes
 * in pip, and a Superset problem (no python3, a busy port) is logged without stopping the pipeline. Interrupting
 * the effect stops Superset (SIGINT: gunicorn finishes its requests).
 */
export const supersetChild = (port: number, host: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      Bun.spawn(supersetChildArgs(port, host), {
        stdout: "inherit",
        stderr: "inherit",
      }),
    ),
    (child) =>
      Effect.promise(() => child.exited).pipe(
        Effect.tap((code) =>
          Effect.sync(() =>
            process.stderr.write(`[superset] stopped (exit code ${code}); the pipeline keeps running\n`),
          ),
        ),
      ),
    (child) =>
      Effect.promise(async () => {
        if (child.exitCode === null) child.kill("SIGINT")
        await child.exited
      }),
  )
