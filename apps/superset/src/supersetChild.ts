import { join } from "node:path"
import { forwardLines } from "@shop/runtime"
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

/** pip's per-package lines ("Collecting x", "Downloading x", "Requirement already satisfied", ...). */
const PIP_LINE =
  /^\s*(Collecting|Downloading|Obtaining|Using cached|Requirement already satisfied|Installing build dependencies|Getting requirements|Preparing metadata|Building wheel|Created wheel|Stored in directory|Attempting uninstall|Found existing installation|Uninstalling|Successfully uninstalled|━|Installing collected packages)/

/**
 * The lines of the Superset child as `bun run dev` prints them: each prefixed `[superset]`, and pip's hundreds
 * of per-package lines on a first install condensed to one line every 50 packages.
 */
export const supersetLines = (write: (line: string) => void) => {
  let collected = 0
  let pipLines = 0
  return {
    line: (raw: string) => {
      const text = raw.replace(/\r/g, "").trimEnd()
      if (text === "") return
      if (PIP_LINE.test(text)) {
        pipLines++
        if (/^\s*Collecting /.test(text) && ++collected % 50 === 0) {
          write(`[superset] pip: ${collected} packages collected so far...`)
        }
        return
      }
      // Its own lines already say [superset] (and [setup] for the venv).
      write(/^\[[\w.-]+\]/.test(text) ? text : `[superset] ${text}`)
    },
    /** How many pip lines were folded away. */
    folded: () => pipLines,
  }
}

/**
 * `bun run superset` as a child process of `bun run dev`: its own process because the first run spends minutes
 * in pip, and a Superset problem (no python3, a busy port) is logged without stopping the pipeline. Its output
 * is prefixed `[superset]` like every part of dev, pip's progress condensed. Interrupting the effect stops
 * Superset (SIGINT: gunicorn finishes its requests).
 */
export const supersetChild = (port: number, host: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      Bun.spawn(supersetChildArgs(port, host), {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      }),
    ),
    (child) =>
      Effect.promise(async () => {
        const out = supersetLines((line) => process.stderr.write(`${line}\n`))
        await Promise.all([forwardLines(child.stdout, out.line), forwardLines(child.stderr, out.line)])
        return child.exited
      }).pipe(
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
