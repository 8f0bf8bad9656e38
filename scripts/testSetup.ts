// Preloaded by `bun test` (bunfig.toml): everything the specs need beyond `bun install` is set up here,
// so the README's single test command works on a fresh machine.
import { ensurePythonEnv } from "./pythonEnv.ts"

process.env.PYTHON ??= ensurePythonEnv(".venv", "requirements-test.txt")
