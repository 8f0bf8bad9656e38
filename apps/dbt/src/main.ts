import { join } from "node:path"
import { DBT_PROJECT_DIR, dbtEnv, hasPython, prepareDbt } from "@shop/dbt"
import { DataDir, releasePidLock, tryPidLock } from "@shop/runtime"
import { Effect } from "effect"

/**
 * `bun run dbt -- <args>`: dbt over the lake in $DATA_DIR (default ./data) with the project's profile, creating
 * dbt/.venv on first use. Every argument is dbt's own, passed through unparsed (so no effect/cli here).
 *
 * dbt's DuckDB file takes one writer at a time, so runs over one data directory are serialized by a lock file
 * ($DATA_DIR/dbt/dbt.pid): a second run (yours while `bun run dev` builds, or dev's while yours runs) says once
 * whose run it waits for and starts when that one ends (the first run's venv install is under the lock too). `--help`/`--version` need no lock.
 */
// dbt's own arguments pass through unparsed, so this is a plain script; its one setting still comes through Config.
const dataDir = Effect.runSync(
  Effect.gen(function* () {
    return yield* DataDir
  }),
)
if (!hasPython()) {
  console.error("error: dbt needs Python 3.11+ (python3 on PATH) to create dbt/.venv")
  process.exit(1)
}
const args = process.argv.slice(2)
const needsNoLock = args.length === 0 || args.some((a) => ["--help", "-h", "--version", "-v"].includes(a))
const lockPath = join(dataDir, "dbt", "dbt.pid")
let stopped = false
process.on("SIGINT", () => {
  stopped = true
})
process.on("SIGTERM", () => {
  stopped = true
})
if (!needsNoLock) {
  let said = false
  for (let holder = tryPidLock(lockPath); holder !== undefined; holder = tryPidLock(lockPath)) {
    if (!said) {
      console.error(
        `dbt: waiting for the dbt run of pid ${holder} (bun run dev's periodic build, or another bun run dbt) to finish: dbt's DuckDB file takes one run at a time`,
      )
      said = true
    }
    await Bun.sleep(250)
    if (stopped) process.exit(130)
  }
  process.on("exit", () => releasePidLock(lockPath))
}
let dbt: string
try {
  dbt = prepareDbt(dataDir)
} catch (e) {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
}
const child = Bun.spawn([dbt, ...(args.length === 0 ? ["--help"] : args)], {
  cwd: DBT_PROJECT_DIR,
  env: dbtEnv(dataDir),
  stdio: ["inherit", "inherit", "inherit"],
})
// Ctrl-C reaches dbt too (same process group); it stops cleanly and we pass its exit code on.
process.removeAllListeners("SIGTERM")
process.on("SIGTERM", () => child.kill("SIGTERM"))
process.exit(await child.exited)
