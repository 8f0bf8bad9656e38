/**
 * The project's own Python virtualenv (`.venv` at the repo root), created on first use so that a fresh machine
 * needs nothing but Python 3 and network access to PyPI. Used by the tests (pyarrow as an independent Parquet
 * reader) and later by dbt and Superset, each with its own requirements file.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

export const repoRoot = resolve(import.meta.dir, "../../..")

const run = (cmd: ReadonlyArray<string>): void => {
  const proc = Bun.spawnSync([...cmd], { stdout: "inherit", stderr: "inherit" })
  if (proc.exitCode !== 0) {
    throw new Error(`'${cmd.join(" ")}' failed with exit code ${proc.exitCode}`)
  }
}

/** Returns the venv's python, creating the venv and installing `requirements` (relative to the repo) if needed. */
export const ensurePythonEnv = (venvDir: string, requirements: string): string => {
  const venv = resolve(repoRoot, venvDir)
  const python = join(venv, "bin", "python")
  const reqPath = resolve(repoRoot, requirements)
  const wanted = readFileSync(reqPath, "utf8")
  const stamp = join(venv, `.installed-${requirements.replaceAll("/", "_")}`)
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8") === wanted) return python
  const system = Bun.which("python3") ?? Bun.which("python")
  if (system === null) throw new Error("Python 3 is needed (python3 on PATH) to create " + venvDir)
  process.stderr.write(`[setup] creating Python env ${venvDir} with ${requirements} (first run only, ~1 min)...\n`)
  if (!existsSync(python)) run([system, "-m", "venv", venv])
  run([python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "-r", reqPath])
  writeFileSync(stamp, wanted)
  process.stderr.write(`[setup] ${venvDir} ready\n`)
  return python
}
