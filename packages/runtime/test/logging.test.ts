import { expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const logSome = async (env: Record<string, string>) => {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "fixtures", "logSome.ts")], {
    env: { ...process.env, LOG_FORMAT: "", LOG_LEVEL: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  expect(code).toBe(0)
  return stderr.split("\n").filter((l) => l !== "")
}

test("plain lines: the component in brackets before the message, the program's own lines without one", async () => {
  expect(await logSome({})).toEqual([
    "[compact] orders 2026-12-01: merged 12 files",
    "stopped: all 4 processes exited",
    "[gold] recomputed 2026-12-01",
    "no component",
  ])
})

test("LOG_FORMAT=json: one JSON object a line with message, level, timestamp and the component annotation", async () => {
  const lines = (await logSome({ LOG_FORMAT: "json" })).map((l) => JSON.parse(l))
  expect(lines.map((l) => [l.message, l.level, l.annotations.component])).toEqual([
    ["orders 2026-12-01: merged 12 files", "INFO", "compact"],
    ["stopped: all 4 processes exited", "INFO", "shop-pulse"],
    ["recomputed 2026-12-01", "INFO", "gold"],
    ["no component", "INFO", undefined],
  ])
  for (const l of lines) expect(Number.isNaN(Date.parse(l.timestamp))).toBe(false)
})

test("LOG_LEVEL filters both forms", async () => {
  expect(await logSome({ LOG_LEVEL: "debug" })).toContain("hidden at info")
  expect(await logSome({ LOG_LEVEL: "warn" })).toEqual([])
})
