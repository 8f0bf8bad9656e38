import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream, sumDlq, sumValid } from "@shop/generator"
import { Lake } from "@shop/lake"
import { Effect, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"
import { duckdb, expectSilverMatches } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "stream-crash-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const broker = layerEmbeddedAt(join(dir, "broker"))
const ROUNDS = 24
const PER_ROUND = 2_500

test(`kill -9 of the processor under load, ${ROUNDS} times (also between rename and commit), loses and repeats nothing`, async () => {
  const stats = emptyStats()
  const stream = makeEventStream(
    {
      seed: 5,
      start: Date.parse("2026-11-10T00:00:00Z"),
      eps: 5,
      badRate: 0.03,
      dupRate: 0.03,
      lateRate: 0.02,
      seasonality: true,
    },
    stats,
  )
  const produce = (n: number) =>
    Effect.runPromise(
      Effect.gen(function* () {
        yield* ensureDefaultTopics
        // next() rather than for-of: breaking a for-of would close the generator for the next round.
        const batch: Array<GeneratedRecord> = []
        while (batch.length < n) batch.push(stream.next().value as GeneratedRecord)
        yield* (yield* Broker).produce(TOPIC_RAW, batch)
      }).pipe(Effect.provide(broker)),
    )

  let killedAfterRename = 0
  for (let round = 0; round < ROUNDS; round++) {
    await produce(PER_ROUND)
    // Every third round the child kills itself right after renaming files into place, before the commit.
    const crashAfterRename = round % 3 === 0 ? 0.3 : 0
    const child = Bun.spawn(
      ["bun", join(import.meta.dir, "fixtures", "crashingProcessor.ts"), dir, String(crashAfterRename)],
      {
        stdout: "ignore",
        stderr: "pipe",
      },
    )
    const timer = setTimeout(() => child.kill("SIGKILL"), 150 + Math.random() * 600)
    const code = await child.exited
    clearTimeout(timer)
    if (child.signalCode !== "SIGKILL")
      throw new Error(`processor exited with ${code}: ${await new Response(child.stderr).text()}`)
    if (crashAfterRename > 0) killedAfterRename++
  }
  expect(killedAfterRename).toBeGreaterThanOrEqual(8)

  // The final restart finishes the job.
  await Effect.runPromise(
    runStreamProcessor({ availableNow: true }).pipe(Effect.provide(Layer.mergeAll(broker, Lake.layerAt(dir)))),
  )
  const total = ROUNDS * PER_ROUND
  expect(stats.records).toBe(total)
  const db = await duckdb(dir)
  try {
    // Silver holds exactly the generator's accepted events, each event_id once.
    await expectSilverMatches(db, stats)
    expect(await db.count("bronze/dlq")).toBe(sumDlq(stats))
    expect(await db.count("bronze/events")).toBe(total)
    expect(total).toBe(sumValid(stats) + sumDlq(stats) + stats.duplicates)
    const [bronzeOffsets] = await db.rows(
      `select count(*)::INTEGER as n, count(distinct (partition, "offset"))::INTEGER as d from ${db.glob("bronze/events")}`,
    )
    expect(bronzeOffsets!.d).toBe(total)
  } finally {
    db.close()
  }
  // No stray temp files left visible.
  const leftovers = (readdirSync(join(dir, "silver"), { recursive: true }) as Array<string>).filter((f) =>
    f.endsWith(".tmp"),
  )
  expect(leftovers).toEqual([])
}, 180_000)
