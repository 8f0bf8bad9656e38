// Preloaded by `bun test` (bunfig.toml): everything the specs need beyond `bun install` is set up here,
// so the README's single test command works on a fresh machine.
import { ensurePythonEnv } from "./pythonEnv.ts"

process.env.PYTHON ??= ensurePythonEnv(".venv", "requirements-test.txt")
// dbt and its DuckDB adapter for the dbt spec (packages/dbt/test), in their own venv as `bun run dbt` uses.
ensurePythonEnv("dbt/.venv", "dbt/requirements.txt")
