import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * Exit codes of the programs' own checks, consistent across apps: a flag value that cannot work is a command-line
 * error (one line, exit 2, like effect/cli's own flag errors); a refusal because of the environment (the
 * collector in production without write keys) is a configuration error (exit 1). Before, the stream's
 * `--partitions`, the collector's `--rate-limit` and compact's `--day`/`--table`/`--target-rows` checks exited 1.
 */
const dataDir = mkdtempSync(join(tmpdir(), "exit-codes-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const root = join(import.meta.dir, "..", "..", "..")

const run = async (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const proc = Bun.spawn(["bun", join(root, script), ...args], {
    env: { ...process.env, DATA_DIR: dataDir, ...env },
    stdout: "ignore",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000)
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  return { lines: err.trim().split("\n"), code }
}

const badFlags: ReadonlyArray<[string, ReadonlyArray<string>, string]> = [
  ["apps/stream/src/main.ts", ["--partitions", "0,x"], "error: --partitions: expected numbers like 0,2"],
  ["apps/collector/src/main.ts", ["--port", "0", "--rate-limit", "-1"], "error: --rate-limit must be a whole number"],
  [
    "apps/gold/src/compact.ts",
    ["--day", "yesterday"],
    'error: --day: expected a date like 2026-11-24, got "yesterday"',
  ],
  ["apps/gold/src/compact.ts", ["--table", "nope"], 'error: --table: no table "nope"'],
  ["apps/gold/src/compact.ts", ["--target-rows", "0"], "error: --target-rows must be >= 1"],
]

for (const [script, args, message] of badFlags) {
  test(`${script.split("/")[1]} ${args.join(" ")}: one line, exit 2`, async () => {
    const r = await run(script, args)
    expect(r.lines).toHaveLength(1)
    expect(r.lines[0]).toStartWith(message)
    expect(r.code).toBe(2)
  })
}

test("the collector in production without write keys: a configuration error, one line, exit 1", async () => {
  const r = await run("apps/collector/src/main.ts", ["--port", "0"], {
    SHOP_ENV: "production",
    COLLECTOR_WRITE_KEYS: "",
  })
  expect(r.lines).toHaveLength(1)
  expect(r.lines[0]).toStartWith("error: SHOP_ENV=production: set COLLECTOR_WRITE_KEYS")
  expect(r.code).toBe(1)
})
