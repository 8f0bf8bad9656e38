import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream, sumDlq, sumValid } from "@shop/generator"
import { Effect } from "effect"
import { compactLake } from "../src/compaction.ts"
import { ALL_TABLES } from "../src/index.ts"
import { caughtUp, globOf } from "./lakeSnapshot.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "compaction-live-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const broker = layerEmbeddedAt(join(dir, "broker"))
const run = <A, E>(e: Effect.Effect<A, E, Broker>) => Effect.runPromise(e.pipe(Effect.provide(broker)))

test("compaction while the stream processor writes (another process) and glob readers read: no row lost or doubled", async () => {
  const stats = emptyStats()
  const records: Array<GeneratedRecord> = [
    ...makeEventStream(
      {
        seed: 12,
        start: Date.parse("2026-11-20T00:00:00Z"),
        end: Date.parse("2026-11-21T08:00:00Z"),
        eps: 0.2,
        badRate: 0.02,
        dupRate: 0.03,
        lateRate: 0.03,
        seasonality: true,
      },
      stats,
    ),
  ]
  await run(ensureDefaultTopics)
  // The stream processor in its own process, small batches (many small files), running until stopped.
  const writer = Bun.spawn(
    ["bun", join(import.meta.dir, "../../stream/test/fixtures/crashingProcessor.ts"), dir, "0"],
    { stdout: "ignore", stderr: "pipe" },
  )
  const db = await (await DuckDBInstance.create(":memory:")).connect()
  let reads = 0
  let readErrors = 0
  const errorKinds = new Set<string>()
  const seen = new Set<string>()
  let swaps = 0
  let producing = true
  // Glob readers, without any lock (as dbt or Superset read): every read must see each row once.
  const reader = (async () => {
    while (producing) {
      for (const t of ALL_TABLES) {
        const key = `concat_ws(':', ${(t.sortBy ?? []).map((c) => `"${c}"`).join(", ")})`
        try {
          const [r] = (
            await db.runAndReadAll(
              `select count(*)::INTEGER as n, count(distinct ${key})::INTEGER as d from ${globOf(dir, t.name)}`,
            )
          ).getRowObjectsJson()
          expect({ table: t.name, rows: r!.n }).toEqual({ table: t.name, rows: r!.d })
          reads++
          seen.add(t.name)
        } catch (e) {
          // A read whose listing straddles a directory swap may miss a file it listed: it fails, never miscounts.
          const message = String(e)
          // Before the writer's first file of a table lands, there is nothing to match yet.
          if (/No files found that match/.test(message) && !seen.has(t.name)) continue
          if (!/No such file|Cannot open|IO Error/i.test(message)) throw e
          errorKinds.add(message.slice(0, 160))
          readErrors++
        }
      }
    }
  })()
  try {
    for (let i = 0; i < records.length; i += 2_500) {
      await run(Broker.use((b) => b.produce(TOPIC_RAW, records.slice(i, i + 2_500))))
      const report = await Effect.runPromise(
        compactLake(dir, { tables: ALL_TABLES, targetRows: 2_000, openDayMinFiles: 3, lockTimeoutMs: 30_000 }),
      )
      swaps += report.days.filter((d) => d.skipped === undefined).length
      await Bun.sleep(200)
    }
    // Let the processor catch up with everything produced.
    const ends = await run(Broker.use((b) => b.endOffsets(TOPIC_RAW)))
    for (;;) {
      if (await caughtUp(dir, ends)) break
      if (writer.exitCode !== null) throw new Error(`writer died: ${await new Response(writer.stderr).text()}`)
      await Bun.sleep(100)
    }
    const last = await Effect.runPromise(
      compactLake(dir, { tables: ALL_TABLES, targetRows: 2_000, openDayMinFiles: 2 }),
    )
    swaps += last.days.filter((d) => d.skipped === undefined).length
  } finally {
    producing = false
    await reader
    writer.kill("SIGTERM")
    await writer.exited
  }
  process.stderr.write(
    `[compaction live] ${swaps} swaps, ${reads} glob reads, ${readErrors} reads failed (file swapped away)\n${[...errorKinds].slice(0, 3).join("\n")}\n`,
  )
  expect(swaps).toBeGreaterThan(15)
  expect(reads).toBeGreaterThan(20)

  // Exactly the generator's events: every accepted event once, every record in Bronze, every reject in the DLQ.
  const q = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson()[0]!
  for (const [type, n] of Object.entries(stats.valid)) {
    expect({ type, n: (await q(`select count(*)::INTEGER as n from ${globOf(dir, `silver/${type}`)}`)).n }).toEqual({
      type,
      n,
    })
  }
  const union = Object.keys(stats.valid).map((t) => `select event_id from ${globOf(dir, `silver/${t}`)}`)
  expect(
    await q(
      `select count(*)::INTEGER as n, count(distinct event_id)::INTEGER as d from (${union.join(" union all ")})`,
    ),
  ).toEqual({
    n: sumValid(stats),
    d: sumValid(stats),
  })
  expect(
    await q(
      `select count(*)::INTEGER as n, count(distinct (partition, "offset"))::INTEGER as d from ${globOf(dir, "bronze/events")}`,
    ),
  ).toEqual({
    n: records.length,
    d: records.length,
  })
  expect((await q(`select count(*)::INTEGER as n from ${globOf(dir, "bronze/dlq")}`)).n).toBe(sumDlq(stats))
  const [money] = [await q(`select sum(total)::VARCHAR as t from ${globOf(dir, "silver/order_placed")}`)]
  expect(Math.round(Number(money.t) * 100)).toBe(stats.orderTotalCents)
  db.closeSync()
}, 240_000)
