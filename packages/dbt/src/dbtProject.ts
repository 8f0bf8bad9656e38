import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { ensurePythonEnv, repoRoot } from "@shop/python-env"

/** The dbt project (models, seeds, tests, profiles.yml) at the repo's top level. */
export const DBT_PROJECT_DIR = join(repoRoot, "dbt")
/** `bun run dbt`'s entry: the way every caller (the dev loop, the specs) runs dbt, in its own process. */
export const DBT_CLI = join(repoRoot, "apps", "dbt", "src", "main.ts")
/** Where the marts land as Parquet, one file per model: what Superset and the dashboard read. */
export const dbtMartsDir = (dataDir: string) => join(dataDir, "gold", "dbt")

/** Python 3 is on PATH (the venv is made from it). */
export const hasPython = (): boolean => (Bun.which("python3") ?? Bun.which("python")) !== null

/**
 * The environment dbt runs with: the project's profile, DATA_DIR (the lake it reads; its own DuckDB file, target
 * and logs go under $DATA_DIR/dbt so several lakes never share them) and no usage pings.
 */
export const dbtEnv = (dataDir: string): Record<string, string | undefined> => ({
  ...process.env,
  DATA_DIR: dataDir,
  DBT_PROFILES_DIR: DBT_PROJECT_DIR,
  DBT_PROJECT_DIR: DBT_PROJECT_DIR,
  DBT_TARGET_PATH: join(dataDir, "dbt", "target"),
  DBT_LOG_PATH: join(dataDir, "dbt", "logs"),
  DBT_SEND_ANONYMOUS_USAGE_STATS: "false",
  DO_NOT_TRACK: "1",
})

/**
 * Creates dbt/.venv from dbt/requirements.txt on first use (pip's progress on the terminal) and the folders dbt
 * writes to; returns the dbt executable. Throws when Python 3 is missing or pip fails.
 */
export const prepareDbt = (dataDir: string): string => {
  const python = ensurePythonEnv("dbt/.venv", "dbt/requirements.txt")
  mkdirSync(join(dataDir, "dbt"), { recursive: true })
  mkdirSync(dbtMartsDir(dataDir), { recursive: true })
  return join(dirname(python), "dbt")
}
