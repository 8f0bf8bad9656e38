import { resolve } from "node:path"
import { DBT_PROJECT_DIR, dbtEnv, hasPython, prepareDbt } from "@shop/dbt"

/**
 * `bun run dbt -- <args>`: dbt over the lake in $DATA_DIR (default ./data) with the project's profile, creating
 * dbt/.venv on first use. Every argument is dbt's own, passed through unparsed (so no effect/cli here).
 */
const dataDir = resolve(process.env.DATA_DIR ?? "./data")
if (!hasPython()) {
  console.error("error: dbt needs Python 3.11+ (python3 on PATH) to create dbt/.venv")
  process.exit(1)
}
let dbt: string
try {
  dbt = prepareDbt(dataDir)
} catch (e) {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
}
const args = process.argv.slice(2)
const child = Bun.spawn([dbt, ...(args.length === 0 ? ["--help"] : args)], {
  cwd: DBT_PROJECT_DIR,
  env: dbtEnv(dataDir),
  stdio: ["inherit", "inherit", "inherit"],
})
// Ctrl-C reaches dbt too (same process group); it stops cleanly and we pass its exit code on.
process.on("SIGINT", () => {})
process.on("SIGTERM", () => child.kill("SIGTERM"))
process.exit(await child.exited)
