import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt } from "@shop/broker"
import { Effect } from "effect"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * `bun run dev`'s checks come before anything starts: a bad flag value, a busy dashboard port or a second dev
 * on the same data directory each print one line first (what failed, what to do), no help dump, and nothing is
 * produced. Before: `--eps -5` ran and generated nothing, `--dbt-every 5` meant 5 seconds, a bad value printed
 * ~20 lines of help then `error: Help requested`, a busy port suggested `--port` (which dev rejects) after 54
 * events were produced, and a second dev said "consumer group stream-processor already has a live member".
 */
const dirs: Array<string> = []
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), "dev-checks-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const main = join(import.meta.dir, "..", "src", "main.ts")

const recordsIn = (dataDir: string) =>
  !existsSync(join(dataDir, "broker"))
    ? Promise.resolve(0)
    : Effect.runPromise(
        Effect.gen(function* () {
          const broker = yield* Broker
          if (!(yield* broker.listTopics).some((t) => t.name === "events.raw")) return 0
          return (yield* broker.endOffsets("events.raw")).reduce((sum, e) => sum + e.offset, 0)
        }).pipe(Effect.provide(layerEmbeddedAt(join(dataDir, "broker")))),
      )

/** Quiet defaults for a short run, each left out when the case gives that flag itself. */
const QUIET: ReadonlyArray<ReadonlyArray<string>> = [["--no-superset"], ["--dbt-every", "off"], ["--history-days", "0"]]
const spawnDev = (dataDir: string, args: ReadonlyArray<string>) =>
  Bun.spawn(["bun", main, ...QUIET.filter(([flag]) => !args.includes(flag!)).flat(), ...args], {
    env: { ...process.env, DATA_DIR: dataDir, DASHBOARD_PORT: "0", DASHBOARD_HOST: "" },
    stdout: "pipe",
    stderr: "pipe",
  })

const runDev = async (dataDir: string, args: ReadonlyArray<string>) => {
  const proc = spawnDev(dataDir, args)
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000)
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  return { out, err, code }
}

const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
  [["--eps", "-5"], "error: --eps -5: must be a number above 0"],
  [["--eps", "0"], "error: --eps 0: must be a number above 0"],
  [["--eps", "lots"], "error: --eps lots: expected a number"],
  [["--dbt-every", "5"], "error: --dbt-every 5: a duration needs its unit: 5s, 5m or 5h (or off)"],
  [["--dbt-every", "soon"], "error: --dbt-every soon: expected a duration such as 90s, 5m or 2h, or off"],
  [["--dashboard-port", "70000"], "error: --dashboard-port 70000: a port is 1-65535 (0 picks a free one)"],
  [["--dashboard-port", "-1"], "error: --dashboard-port -1: a port is 1-65535 (0 picks a free one)"],
  [["--history-days", "-3"], "error: --history-days -3: must be 0 to 366 days"],
  [["--port", "3001"], "error: Unrecognized flag: --port in command dev"],
]

for (const [args, message] of cases) {
  test(`dev ${args.join(" ")}: "${message}" first, exit 2, nothing produced`, async () => {
    const dataDir = freshDir()
    const r = await runDev(dataDir, args)
    const lines = r.err.trim().split("\n")
    expect(lines).toEqual([message, "(bun run dev -- --help lists the flags)"])
    expect(r.out).toBe("")
    expect(r.code).toBe(2)
    expect(await recordsIn(dataDir)).toBe(0)
  })
}

test("dev --help still prints the help, exit 0", async () => {
  const r = await runDev(freshDir(), ["--help"])
  expect(r.code).toBe(0)
  expect(r.out).toContain("--dashboard-port integer")
  expect(r.out).toContain("--history-days integer")
})

test("a busy dashboard port: one line naming --dashboard-port, exit 2, nothing produced", async () => {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve))
  const port = (server.address() as { port: number }).port
  try {
    const dataDir = freshDir()
    const r = await runDev(dataDir, ["--dashboard-port", String(port)])
    expect(r.err.trim().split("\n")).toEqual([
      `error: --dashboard-port ${port}: 127.0.0.1:${port} is already in use by another program; pick another port with --dashboard-port N (0: a free one)`,
    ])
    expect(r.code).toBe(2)
    expect(await recordsIn(dataDir)).toBe(0)
  } finally {
    server.close()
  }
})

test("a second dev on the same data directory says so with the first one's pid; the first goes on", async () => {
  const dataDir = freshDir()
  const first = spawnDev(dataDir, ["--eps", "200"])
  try {
    for (const deadline = Date.now() + 40_000; (await recordsIn(dataDir)) === 0; ) {
      if (Date.now() > deadline || first.exitCode !== null) throw new Error("the first dev produced nothing")
      await Bun.sleep(200)
    }
    const second = await runDev(dataDir, [])
    expect(second.err.trim().split("\n")).toEqual([
      `error: another bun run dev (pid ${first.pid}) is already running on ${dataDir}: stop it first (Ctrl-C in its terminal, or kill ${first.pid}), or give this one its own DATA_DIR=...`,
    ])
    expect(second.code).toBe(1)
    expect(first.exitCode).toBeNull()
  } finally {
    first.kill("SIGINT")
  }
  const err = await new Response(first.stderr).text()
  expect(await first.exited).toBe(0)
  expect(err.trim().split("\n").at(-1)).toBe("stopped: all 4 processes exited (generator, stream, gold, dashboard)")
  // The lock went with it: a new dev may start.
  expect(existsSync(join(dataDir, "_dev", "dev.pid"))).toBe(false)
}, 90_000)
