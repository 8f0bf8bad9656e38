import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt } from "@shop/broker"
import { Effect } from "effect"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dataDir = mkdtempSync(join(tmpdir(), "dev-test-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const main = join(import.meta.dir, "..", "src", "main.ts")

const recordsInBroker = () =>
  Effect.runPromise(
    Effect.gen(function* () {
      const broker = yield* Broker
      if (!(yield* broker.listTopics).some((t) => t.name === "events.raw")) return 0
      const ends = yield* broker.endOffsets("events.raw")
      return ends.reduce((sum, e) => sum + e.offset, 0)
    }).pipe(Effect.provide(layerEmbeddedAt(join(dataDir, "broker")))),
  )

/** Records the stream processor has committed to the lake so far (0 before its first batch). */
const committedByStream = () => {
  try {
    return JSON.parse(readFileSync(join(dataDir, "_metrics", "stream.json"), "utf8")).totals.records as number
  } catch {
    return 0
  }
}

/**
 * Runs `bun run dev` until the broker holds `atLeast` more records than before and the stream processor has
 * committed some of them (not for a fixed time: a busy machine starts it slower), stops it with Ctrl-C
 * (SIGINT), returns how many records it says it sent.
 */
const runDevUntil = async (atLeast: number): Promise<number> => {
  const before = await recordsInBroker()
  const committedBefore = committedByStream()
  const proc = Bun.spawn(["bun", main, "--eps", "300", "--no-superset", "--dbt-every", "off", "--history-days", "0"], {
    env: { ...process.env, DATA_DIR: dataDir, DASHBOARD_PORT: "0", DASHBOARD_HOST: "" },
    stdout: "pipe",
    stderr: "pipe",
  })
  for (
    const deadline = Date.now() + 60_000;
    (await recordsInBroker()) - before < atLeast || committedByStream() <= committedBefore;
  ) {
    if (Date.now() > deadline || proc.exitCode !== null) break
    await Bun.sleep(100)
  }
  proc.kill("SIGINT")
  await proc.exited
  const stderr = await new Response(proc.stderr).text()
  expect(stderr).toContain("events/s into events.raw")
  // Where each thing listens, and only on this machine by default (the dashboard's own line comes once it has
  // started, which a short run may not reach; its sockets are checked in packages/live/test/access.test.ts).
  expect(stderr).toContain("dashboard:  listens on 127.0.0.1, a free port")
  expect(stderr).toContain("superset:   off (--no-superset)")
  for (const line of stderr.split("\n").filter((l) => l.startsWith("Dashboard: "))) {
    expect(line).toMatch(
      /^Dashboard: http:\/\/127\.0\.0\.1:\d+ {2}\(listening on 127\.0\.0\.1:\d+ \(this machine only\)\)$/,
    )
  }
  const sent = /generator\] stopped after (\d+) records/.exec(stderr)
  if (sent === null) throw new Error(`no summary after Ctrl-C:\n${stderr}`)
  return Number(sent[1])
}

test("bun run dev: events flow into the lake; Ctrl-C loses nothing, and a restart continues the offsets", async () => {
  const first = await runDevUntil(250)
  expect(first).toBeGreaterThan(200)
  expect(await recordsInBroker()).toBe(first)
  const second = await runDevUntil(250)
  expect(second).toBeGreaterThan(200)
  expect(await recordsInBroker()).toBe(first + second)
  // The stream processor ran beside the generator and committed Silver.
  const metrics = JSON.parse(readFileSync(join(dataDir, "_metrics", "stream.json"), "utf8"))
  expect(metrics.recordsIn).toBeGreaterThan(0)
  expect(metrics.silverRows.page_view).toBeGreaterThan(0)
}, 60_000)
