/**
 * Readers under continuous compaction (issue 17): while the stream processor (another process) commits small
 * batches and compaction swaps the open day's directories over and over, the dashboard's live data and the gold
 * loop's right-now rollups read with no error, and their numbers equal the rows committed, exactly.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { EVENT_TYPES, TOPIC_RAW } from "@shop/contract"
import { type GeneratedRecord, makeEventStream } from "@shop/generator"
import { ALL_TABLES, type CompactOptions, Lake } from "@shop/lake"
import { DEFAULT_CATALOG, makeRealtimeRollups, refreshRealtime, sqlString, Warehouse } from "@shop/warehouse"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { caughtUp } from "../../lake/test/lakeSnapshot.ts"
import { LiveData } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const committedBatches = (dir: string) =>
  Effect.runSync(Lake.use((lake) => lake.tail).pipe(Effect.provide(Lake.layerAt(dir)))).poll().length

/** Compaction as the gold loop runs it: through the Lake service. */
const compactAt = (dir: string, options: CompactOptions) =>
  Lake.use((lake) => lake.compact(options)).pipe(Effect.provide(Lake.layerAt(dir)))

const dir = mkdtempSync(join(tmpdir(), "live-compaction-"))
const scopes: Array<Scope.Closeable> = []
afterAll(async () => {
  for (const s of scopes) await Effect.runPromise(Scope.close(s, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})
const broker = layerEmbeddedAt(join(dir, "broker"))
const run = <A, E>(e: Effect.Effect<A, E, Broker>) => Effect.runPromise(e.pipe(Effect.provide(broker)))
const query = (sql: string) =>
  Effect.runPromise(Warehouse.use((wh) => wh.query(sql)).pipe(Effect.provide(Warehouse.layer), Effect.scoped))

// Independent of the code under test: plain globs over the lake once nothing moves any more.
const table = (t: string) => `read_parquet('${dir}/${t}/*/*.parquet', union_by_name = true)`
const hasFiles = (t: string) =>
  existsSync(join(dir, t)) && readdirSync(join(dir, t)).some((d) => readdirSync(join(dir, t, d)).length > 0)
const allEvents = () =>
  EVENT_TYPES.filter((t) => hasFiles(`silver/${t}`))
    .map((t) => `select session_id, event_type, event_ts from ${table(`silver/${t}`)}`)
    .join(" union all ")
const ms = (n: number) => `epoch_ms(${n}::BIGINT)`
const expectedMinutes = (from: number, to: number) =>
  query(`
    with e as (select *, date_trunc('minute', event_ts) as m from (${allEvents()})),
    minutes as (select unnest(generate_series(${ms(from)}, ${ms(to)}, interval 1 minute)) as m),
    c as (select m, count(*) as events, count(*) filter (where event_type = 'page_view') as page_views,
                 count(*) filter (where event_type = 'add_to_cart') as carts from e group by m),
    o as (select date_trunc('minute', event_ts) as m, count(*) as orders, sum(units) as units,
                 sum(subtotal - discount) as net from ${table("silver/order_placed")} group by 1),
    d as (select date_trunc('minute', source_ts) as m, count(*) as n from ${table("bronze/dlq")} group by 1)
    select epoch_ms(minutes.m)::DOUBLE as minute, coalesce(c.events, 0)::INTEGER as events,
           coalesce(c.page_views, 0)::INTEGER as pageViews, coalesce(c.carts, 0)::INTEGER as addToCarts,
           coalesce(o.orders, 0)::INTEGER as orders, coalesce(o.units, 0)::INTEGER as units,
           coalesce(o.net, 0)::DECIMAL(18,2)::VARCHAR as netRevenue, coalesce(d.n, 0)::INTEGER as dlq
    from minutes left join c using (m) left join o using (m) left join d using (m) order by 1`)
const pick = (p: Record<string, unknown>) => ({
  minute: p.minute,
  events: p.events,
  pageViews: p.pageViews,
  addToCarts: p.addToCarts,
  orders: p.orders,
  units: p.units,
  netRevenue: p.netRevenue,
  dlq: p.dlq,
})

test("live data and right-now rollups read exactly the committed rows while compaction swaps directories", async () => {
  // 30 minutes of the shop up to now (the live page's window), with bad and duplicate records.
  const now0 = Date.now()
  const records: Array<GeneratedRecord> = [
    ...makeEventStream({
      seed: 17,
      start: now0 - 30 * 60_000,
      end: now0 - 2_000,
      eps: 2,
      badRate: 0.02,
      dupRate: 0.02,
      lateRate: 0,
      seasonality: false,
    }),
  ]
  await run(ensureDefaultTopics)
  const writer = Bun.spawn(
    ["bun", join(import.meta.dir, "../../stream/test/fixtures/crashingProcessor.ts"), dir, "0"],
    { stdout: "ignore", stderr: "pipe" },
  )
  const problems: Array<string> = []
  // The dashboard's live data, following the commit logs every 20 ms.
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const ctx = await Effect.runPromise(
    Layer.buildWithScope(
      LiveData.layer({ root: dir, bootstrapMinutes: 70, pollMs: 20, log: (l) => problems.push(l.slice(0, 300)) }).pipe(
        Layer.provide(Layer.merge(Warehouse.layer, Lake.layerAt(dir))),
      ),
      scope,
    ),
  )
  const live = Context.get(ctx, LiveData)
  // The gold loop's right-now rollups, refreshed as fast as they go (they also rewrite the file live data reads).
  const rollupsDb = await Effect.runPromise(Layer.buildWithScope(Warehouse.layer, scope))
  const rollups = await Effect.runPromise(
    makeRealtimeRollups(DEFAULT_CATALOG).pipe(
      Effect.map((r) => ({ refresh: (now: number) => r.refresh(now).pipe(Effect.provide(rollupsDb)) })),
      Effect.provide(rollupsDb),
      Effect.provide(Lake.layerAt(dir)),
    ),
  )
  let producing = true
  let refreshes = 0
  const rollupLoop = (async () => {
    while (producing) {
      const exit = await Effect.runPromiseExit(rollups.refresh(Date.now()))
      if (Exit.isFailure(exit)) problems.push(`[gold] right-now rollups failed: ${String(exit.cause).slice(0, 300)}`)
      refreshes++
      await Bun.sleep(20)
    }
  })()
  let swaps = 0
  try {
    for (let i = 0; i < records.length; i += 200) {
      await run(Broker.use((b) => b.produce(TOPIC_RAW, records.slice(i, i + 200))))
      // Each compaction gets the chunk's new files to swap (waiting for the writer's commit, not a fixed time:
      // a loaded machine's writer lags, and the swap count fell to 8 in a CI-like run).
      const produced = Math.min(i + 200, records.length)
      for (let t = 0; t < 1_200; t++) {
        const committed = await Effect.runPromise(
          Lake.use((l) => l.committedOffsets(TOPIC_RAW)).pipe(Effect.provide(Lake.layerAt(dir))),
        )
        if (committed.reduce((n, c) => n + c.offset, 0) >= produced) break
        if (writer.exitCode !== null) throw new Error(`writer died: ${await new Response(writer.stderr).text()}`)
        await Bun.sleep(50)
      }
      const report = await Effect.runPromise(
        compactAt(dir, { tables: ALL_TABLES, targetRows: 100_000, openDayMinFiles: 2, lockTimeoutMs: 30_000 }),
      )
      swaps += report.days.filter((d) => d.skipped === undefined && d.filesBefore > 0).length
      await Bun.sleep(150) // (compaction runs on this thread: let the readers read meanwhile)
    }
    // Compaction goes on while the processor catches up with everything produced.
    const ends = await run(Broker.use((b) => b.endOffsets(TOPIC_RAW)))
    for (;;) {
      if (await caughtUp(dir, ends)) break
      if (writer.exitCode !== null) throw new Error(`writer died: ${await new Response(writer.stderr).text()}`)
      const report = await Effect.runPromise(compactAt(dir, { tables: ALL_TABLES, openDayMinFiles: 2 }))
      swaps += report.days.filter((d) => d.skipped === undefined && d.filesBefore > 0).length
    }
    // Every committed batch folded by both readers, then one last compaction swap under them.
    const commits = committedBatches(dir)
    for (let i = 0; i < 600 && live.snapshot().health.ingest.commits < commits; i++) await Bun.sleep(25)
    await Effect.runPromise(compactAt(dir, { tables: ALL_TABLES, openDayMinFiles: 2 }))
  } finally {
    producing = false
    await rollupLoop
    writer.kill("SIGTERM")
    await writer.exited
  }
  process.stderr.write(`[readers under compaction] ${swaps} swaps, ${refreshes} rollup refreshes\n`)
  expect(swaps).toBeGreaterThan(10)
  expect(refreshes).toBeGreaterThan(10)

  const now = Date.now()
  const snap = live.snapshot(now)
  expect(snap.health.ingest.unreadable).toBe(0)
  // The live page's minutes: every minute of the hour, exactly what Silver holds.
  expect(snap.minutes.every((m) => m.source === "live")).toBe(true)
  const expected = await expectedMinutes(snap.minutes[0]!.minute, snap.minutes.at(-1)!.minute)
  expect(snap.minutes.map((m) => pick(m as never))).toEqual(expected.map((m) => pick(m)))
  expect(expected.reduce((n, m) => n + Number(m.events), 0)).toBeGreaterThan(2_000)

  // The incremental right-now rollups equal the same rollups recomputed from Silver.
  const readRollups = Effect.gen(function* () {
    const wh = yield* Warehouse
    const read = (file: string) =>
      wh.query(`select * from read_parquet(${sqlString(join(dir, "gold", "realtime", file))}) order by all`)
    return { minutes: yield* read("minute_rollup.parquet"), top: yield* read("top_products.parquet") }
  })
  const incremental = await Effect.runPromise(
    rollups.refresh(now).pipe(Effect.andThen(readRollups), Effect.provide(Warehouse.layer), Effect.scoped),
  )
  const full = await Effect.runPromise(
    refreshRealtime(dir, now).pipe(Effect.andThen(readRollups), Effect.provide(Warehouse.layer), Effect.scoped),
  )
  expect(incremental).toEqual(full)

  // And no reader logged a failure or a file it could not read (only its start-up line).
  expect(problems.filter((l) => !l.startsWith("[dashboard] folded "))).toEqual([])
}, 240_000)
