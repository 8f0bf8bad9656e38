// Preloaded by `bun test` (bunfig.toml): everything the specs need beyond `bun install` is set up here,
// so the README's single test command works on a fresh machine.
import { setDefaultTimeout } from "bun:test"
import { ensurePythonEnv } from "./pythonEnv.ts"

// bunfig.toml has no timeout key (bun ignores one there; its default is 5 s): the pipeline specs start real
// processes and brokers on disk, which on a loaded 2-core machine takes longer than 5 s. Set here, for all.
setDefaultTimeout(120_000)

process.env.PYTHON ??= ensurePythonEnv(".venv", "requirements-test.txt")
// dbt and its DuckDB adapter for the dbt spec (packages/dbt/test), in their own venv as `bun run dbt` uses.
ensurePythonEnv("dbt/.venv", "dbt/requirements.txt")
