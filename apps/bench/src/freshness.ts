import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { brokerSink, emptyStats, type GeneratedRecord, loadCatalog, runGenerator, type Sink } from "@shop/generator"
import { lakeLayout } from "@shop/lake"
import { Warehouse } from "@shop/warehouse"
import { Effect, Fiber } from "effect"
import { Command, Flag } from "effect/cli"
import { type Figure, percentile, report } from "./report.ts"

const APPS = resolve(import.meta.dir, "../..")
const MINUTE = 60_000

/** Starts one of the apps as its own process on the bench's DATA_DIR, keeping its stderr for errors. */
const spawnApp = (dataDir: string, main: string, args: ReadonlyArray<string>) => {
  const proc = Bun.spawn(["bun", join(APPS, main), ...args], {
    env: { ...process.env, DATA_DIR: dataDir, DASHBOARD_PORT: "0" },
    stdout: "ignore",
    stderr: "pipe",
  })
  let text = ""
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value)
      if (text.length > 100_000) text = text.slice(-50_000)
    }
  })()
  return { proc, output: () => text }
}

/**
 * How long an event takes from the producer to the places a shop owner looks: the broker record timestamp of
 * each produced event, against the moment it is counted in `gold/realtime/minute_rollup.parquet` (what the gold
 * loop writes) and in the dashboard's `/api/minutes`, each polled every 50 ms. Events are counted, not named,
 * so the n-th produced event counts as visible once the reader counts n events since the start (the stream
 * commits partitions in about produce order); orders are also matched by id in `/api/recent-orders`.
 */
export const freshnessBench = Command.make(
  "freshness",
  {
    eps: Flag.Int("eps").pipe(Flag.withDescription("Generator events per second"), Flag.withDefault(1_000)),
    seconds: Flag.Int("seconds").pipe(Flag.withDescription("How long the generator runs"), Flag.withDefault(60)),
    batchMs: Flag.Int("batch-ms").pipe(
      Flag.withDescription("Stream processor micro-batch time bound (bun run dev: 500)"),
      Flag.withDefault(500),
    ),
    goldIntervalMs: Flag.Int("gold-interval-ms").pipe(
      Flag.withDescription(
        "Pause between gold daily-fact refreshes (bun run dev: 5000; right-now rollups run every 1 s)",
      ),
      Flag.withDefault(5_000),
    ),
  },
  ({ eps, seconds, batchMs, goldIntervalMs }) =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "bench-freshness-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const broker = layerEmbeddedAt(join(dataDir, "broker"))
      yield* ensureDefaultTopics.pipe(Effect.provide(broker))

      const apps = [
        spawnApp(dataDir, "stream/src/main.ts", ["--batch-ms", String(batchMs)]),
        spawnApp(dataDir, "gold/src/main.ts", ["--interval-ms", String(goldIntervalMs)]),
        spawnApp(dataDir, "dashboard/src/main.ts", ["--port", "0"]),
      ]
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          for (const a of apps) a.proc.kill("SIGINT")
          await Promise.all(apps.map((a) => a.proc.exited))
        }),
      )
      const dashboard = apps[2]!
      let url: string | undefined
      for (let i = 0; i < 300 && url === undefined; i++) {
        url = /Dashboard: (http:\/\/[^\s/]+:\d+)/.exec(dashboard.output())?.[1]
        if (url === undefined) yield* Effect.sleep(100)
      }
      if (url === undefined) return yield* Effect.die(new Error(`the dashboard did not start:\n${dashboard.output()}`))
      process.stderr.write(`pipeline, gold loop (every ${goldIntervalMs} ms) and dashboard at ${url} running\n`)

      // What was produced: record timestamps of valid events in produce order; orders by id.
      const produced: Array<number> = []
      const orders = new Map<string, number>()
      const started = Date.now()
      const fromMinute = Math.floor(started / MINUTE) * MINUTE - MINUTE
      const sink = yield* brokerSink.pipe(Effect.provide(broker))
      const recording: Sink = {
        write: (records: ReadonlyArray<GeneratedRecord>) => {
          for (const r of records) {
            if (r.expected !== "valid") continue
            produced.push(r.timestamp)
            if (r.eventType === "order_placed") orders.set(JSON.parse(r.value).order_id, r.timestamp)
          }
          return sink.write(records)
        },
      }

      // The readers: each notes when the count of events it shows first reached n.
      const rollupSeen: Array<number> = []
      const apiSeen: Array<number> = []
      const orderSeen = new Map<string, number>()
      const rollupWrites: Array<number> = []
      const note = (seen: Array<number>, count: number) => {
        const now = Date.now()
        while (seen.length < Math.min(count, produced.length)) seen.push(now)
      }
      const wh = yield* Warehouse
      const rollup = join(lakeLayout.goldRealtimeDir(dataDir), "minute_rollup.parquet")
      let rollupMtime = 0
      const pollRollup = Effect.gen(function* () {
        if (!existsSync(rollup)) return
        const mtime = statSync(rollup).mtimeMs
        if (mtime === rollupMtime) return
        rollupMtime = mtime
        rollupWrites.push(Date.now())
        const rows = yield* wh.query(
          `select coalesce(sum(events), 0)::DOUBLE as n from read_parquet('${rollup}') where minute >= epoch_ms(${fromMinute}::BIGINT)`,
        )
        note(rollupSeen, Number(rows[0]!.n))
      }).pipe(Effect.catch(() => Effect.void))
      const pollApi = Effect.promise(async () => {
        const minutes = (await (await fetch(`${url}/api/minutes`)).json()) as {
          minutes: Array<{ minute: number; events: number }>
        }
        note(
          apiSeen,
          minutes.minutes.filter((m) => m.minute >= fromMinute).reduce((n, m) => n + m.events, 0),
        )
        const recent = (await (await fetch(`${url}/api/recent-orders?limit=500`)).json()) as {
          orders: Array<{ orderId: string }>
        }
        const now = Date.now()
        for (const o of recent.orders) if (!orderSeen.has(o.orderId)) orderSeen.set(o.orderId, now)
      })
      const caughtUp = () =>
        produced.length > 0 && rollupSeen.length >= produced.length && apiSeen.length >= produced.length
      let generating = true
      const watch = Effect.gen(function* () {
        let lastProgress = Date.now()
        while (generating || !caughtUp()) {
          yield* pollRollup
          yield* pollApi
          if (Date.now() - lastProgress >= 5_000) {
            lastProgress = Date.now()
            process.stderr.write(
              `  produced ${produced.length}, in rollup ${rollupSeen.length}, on dashboard ${apiSeen.length}\n`,
            )
          }
          if (!generating && Date.now() - started > (seconds + 60) * 1000) break
          yield* Effect.sleep(50)
        }
      })

      process.stderr.write(`generator: ${eps} events/s for ${seconds} s (no faults)...\n`)
      const stats = emptyStats()
      const watcher = yield* Effect.forkChild(watch)
      yield* runGenerator(
        { seed: 11, eps, durationMs: seconds * 1000, badRate: 0, dupRate: 0, lateRate: 0, catalog: loadCatalog() },
        recording,
        stats,
      ).pipe(Effect.provide(broker))
      generating = false
      yield* Effect.promise(() => new Promise<void>((r) => setTimeout(r, 0)))
      yield* Effect.sleep(100)
      yield* Fiber.join(watcher)

      // Latency of every 10th event (and the last), by the order they were produced.
      const latencies = (seen: ReadonlyArray<number>) => {
        const out: Array<number> = []
        for (let i = 0; i < seen.length; i += 10) out.push(seen[i]! - produced[i]!)
        return out.sort((a, b) => a - b)
      }
      const rollupLat = latencies(rollupSeen)
      const apiLat = latencies(apiSeen)
      const orderLat = [...orderSeen]
        .filter(([id]) => orders.has(id))
        .map(([id, at]) => at - orders.get(id)!)
        .sort((a, b) => a - b)
      const gaps = rollupWrites.slice(1).map((t, i) => t - rollupWrites[i]!)
      const metrics = existsSync(join(dataDir, "_metrics", "stream.json"))
        ? JSON.parse(readFileSync(join(dataDir, "_metrics", "stream.json"), "utf8"))
        : null
      const stat = (name: string, xs: ReadonlyArray<number>): Array<Figure> => [
        { name: `${name}: p50`, value: percentile(xs, 50), unit: "ms" },
        { name: `${name}: p95`, value: percentile(xs, 95), unit: "ms" },
        { name: `${name}: p99`, value: percentile(xs, 99), unit: "ms" },
        { name: `${name}: max`, value: xs.at(-1) ?? Number.NaN, unit: "ms" },
      ]
      const sortedGaps = [...gaps].sort((a, b) => a - b)
      report(
        "freshness",
        [
          { name: "events produced (valid)", value: produced.length, unit: "events" },
          { name: "generator rate", value: produced.length / seconds, unit: "events/s" },
          ...stat("produced -> gold minute rollup", rollupLat),
          ...stat("produced -> dashboard /api/minutes", apiLat),
          ...stat("produced -> dashboard /api/recent-orders (by order id)", orderLat),
          { name: "gold rollup rewritten every (median)", value: percentile(sortedGaps, 50), unit: "ms" },
          { name: "gold rollup rewritten every (p95)", value: percentile(sortedGaps, 95), unit: "ms" },
          { name: "stream batch duration p95", value: metrics?.batchMs?.p95 ?? Number.NaN, unit: "ms" },
        ],
        {
          eps,
          seconds,
          streamBatchMs: batchMs,
          goldIntervalMs,
          samples: { rollup: rollupLat.length, api: apiLat.length, orders: orderLat.length },
          notVisible: { rollup: produced.length - rollupSeen.length, api: produced.length - apiSeen.length },
          cores: navigator.hardwareConcurrency,
          pollMs: 50,
        },
      )
      if (!caughtUp()) {
        process.stderr.write(
          `warning: not every event became visible within 60 s of the end (rollup ${rollupSeen.length}, dashboard ${apiSeen.length} of ${produced.length})\n`,
        )
      }
    }).pipe(Effect.provide(Warehouse.layer), Effect.scoped),
).pipe(
  Command.withDescription(
    "Freshness: produced (record timestamp) -> visible in the gold minute rollup and on the dashboard API (target p95 < 2 s)",
  ),
)
