import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { emptyStats, makeEventStream } from "@shop/generator"
import { runStreamProcessor } from "@shop/stream"
import { Effect, Layer } from "effect"
import { type CompactionPoint, compactLake } from "../src/compaction.ts"
import { ALL_TABLES, Lake } from "../src/index.ts"
import { fileCounts, lakeFingerprint } from "./lakeSnapshot.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const base = mkdtempSync(join(tmpdir(), "compaction-crash-"))
afterAll(() => rmSync(base, { recursive: true, force: true }))
const pristine = join(base, "pristine")

const POINTS: ReadonlyArray<CompactionPoint | "timer"> = [
  "outputWritten",
  "staged",
  "logged",
  "exchanged",
  "cleaned",
  "timer",
]
const ROUNDS = 8

/** What a glob reader and a listFiles reader see must both be exactly the pristine lake's rows. */
const expectIntact = async (dir: string, expected: Awaited<ReturnType<typeof lakeFingerprint>>, when: string) => {
  expect({ when, lake: await lakeFingerprint(dir) }).toEqual({ when, lake: expected })
  await Effect.runPromise(
    Effect.gen(function* () {
      const lake = yield* Lake
      for (const t of ALL_TABLES) {
        if (!existsSync(join(dir, t.name))) continue
        const files = yield* lake.listFiles(t.name)
        const onDisk = (readdirSync(join(dir, t.name), { recursive: true }) as Array<string>)
          .filter((f) => f.endsWith(".parquet"))
          .map((f) => join(t.name, f))
          .sort()
        expect({ when, table: t.name, files: files.map((f) => f.path).sort() }).toEqual({
          when,
          table: t.name,
          files: onDisk,
        })
        expect(files.reduce((s, f) => s + f.rows, 0)).toBe(expected[t.name]!.rows as number)
      }
    }).pipe(Effect.provide(Lake.layerAt(dir))),
  )
}

test(`kill -9 of compaction at every step (${ROUNDS} rounds): readers see the old or the new files, never both or neither`, async () => {
  const stats = emptyStats()
  const records = [
    ...makeEventStream(
      {
        seed: 8,
        start: Date.parse("2026-11-10T00:00:00Z"),
        end: Date.parse("2026-11-11T12:00:00Z"),
        eps: 0.08,
        badRate: 0.02,
        dupRate: 0.02,
        lateRate: 0.03,
        seasonality: true,
      },
      stats,
    ),
  ]
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureDefaultTopics
      const broker = yield* Broker
      for (let i = 0; i < records.length; i += 5_000) yield* broker.produce(TOPIC_RAW, records.slice(i, i + 5_000))
      yield* runStreamProcessor({ availableNow: true, maxBatchRecords: 300 })
    }).pipe(Effect.provide(Layer.mergeAll(layerEmbeddedAt(join(pristine, "broker")), Lake.layerAt(pristine)))),
  )
  const expected = await lakeFingerprint(pristine)
  const filesBefore = fileCounts(pristine)

  const killed: Record<string, number> = {}
  for (let round = 0; round < ROUNDS; round++) {
    const dir = join(base, `round-${round}`)
    cpSync(pristine, dir, { recursive: true })
    const point = POINTS[round % POINTS.length]!
    const child = Bun.spawn(
      [
        "bun",
        join(import.meta.dir, "fixtures", "crashingCompactor.ts"),
        dir,
        point,
        point === "timer" ? "0" : String(0.15 + Math.random() * 0.5),
      ],
      { stdout: "ignore", stderr: "pipe" },
    )
    const timer = point === "timer" ? setTimeout(() => child.kill("SIGKILL"), 80 + Math.random() * 900) : undefined
    const code = await child.exited
    clearTimeout(timer)
    if (child.signalCode === "SIGKILL") killed[point] = (killed[point] ?? 0) + 1
    else if (code !== 0) throw new Error(`compactor exited with ${code}: ${await new Response(child.stderr).text()}`)
    await expectIntact(dir, expected, `round ${round}, killed at ${point}`)

    // The next compaction finishes or clears what was interrupted, then does the rest.
    const report = await Effect.runPromise(
      compactLake(dir, { tables: ALL_TABLES, targetRows: 1_500, openDayMinFiles: 2 }),
    )
    if (child.signalCode === "SIGKILL" && point !== "cleaned" && point !== "timer")
      expect(report.recovered).toBeGreaterThan(0)
    await expectIntact(dir, expected, `round ${round}, after recovery`)
    const after = fileCounts(dir)
    for (const t of Object.keys(filesBefore)) expect(after[t]!).toBeLessThan(filesBefore[t]!)
    expect(
      readdirSync(join(dir, "_lake", "staging"), { recursive: true }).filter((f) => String(f).endsWith(".parquet")),
    ).toEqual([])
    rmSync(dir, { recursive: true, force: true })
  }
  process.stderr.write(`[compaction crash] kills per step: ${JSON.stringify(killed)}\n`)
  // Each step was hit at least once (the rounds cycle through them; a kill at a step is very likely there).
  const hit = POINTS.filter((p) => (killed[p] ?? 0) > 0)
  expect(hit.length).toBeGreaterThanOrEqual(POINTS.length - 1)
  expect(Object.values(killed).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(ROUNDS - 2)
}, 240_000)
