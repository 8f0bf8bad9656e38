import { closeSync, openSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { SupersetError } from "./SupersetError.ts"
import { type SupersetSettings, supersetProcessEnv } from "./supersetEnv.ts"

const waitHealthy = async (url: string, proc: Bun.Subprocess, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`gunicorn exited with code ${proc.exitCode}`)
    try {
      if ((await fetch(`${url}/health`)).ok) return
    } catch {
      // not listening yet
    }
    await Bun.sleep(500)
  }
  throw new Error(`no answer from ${url}/health after ${timeoutMs / 1000} s`)
}

/**
 * Serves Superset with gunicorn (threaded workers: chart queries wait on DuckDB, not on Python) until
 * interrupted; its log is $DATA_DIR/superset/server.log.
 */
export const serve = (s: SupersetSettings) =>
  Effect.gen(function* () {
    const url = `http://${s.host === "0.0.0.0" ? "127.0.0.1" : s.host}:${s.port}`
    const logFile = join(s.home, "server.log")
    const proc = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const fd = openSync(logFile, "a")
        const p = Bun.spawn(
          [
            "gunicorn",
            "--bind",
            `${s.host}:${s.port}`,
            "--workers",
            process.env.SUPERSET_WORKERS ?? "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "120",
            "superset.app:create_app()",
          ],
          { env: supersetProcessEnv(s), stdout: fd, stderr: fd },
        )
        closeSync(fd)
        return p
      }),
      (p) =>
        Effect.promise(async () => {
          p.kill("SIGTERM")
          await p.exited
        }),
    )
    yield* Effect.tryPromise({
      try: () => waitHealthy(url, proc, 180_000),
      catch: (e) =>
        new SupersetError({ step: "serve", message: `${e instanceof Error ? e.message : e}; see ${logFile}` }),
    })
    process.stderr.write(
      `[superset] ready at ${url}  (user '${s.adminUser}', password from ${s.passwordSource}; log ${logFile})\n`,
    )
    const code = yield* Effect.promise(() => proc.exited)
    return yield* new SupersetError({ step: "serve", message: `gunicorn exited with code ${code}; see ${logFile}` })
  }).pipe(Effect.scoped)
