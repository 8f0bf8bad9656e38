// Preloaded by `bun test` (bunfig.toml): everything the specs need beyond `bun install` is set up here,
// so the README's single test command works on a fresh machine.
import { ensurePythonEnv } from "./pythonEnv.ts"

// The 120 s per-test timeout is set in each spec file (setDefaultTimeout): bun reads none from bunfig.toml,
// and one set here would hold for the first file only.

process.env.PYTHON ??= ensurePythonEnv(".venv", "requirements-test.txt")
// dbt and its DuckDB adapter for the dbt spec (packages/dbt/test), in their own venv as `bun run dbt` uses.
ensurePythonEnv("dbt/.venv", "dbt/requirements.txt")
