import { describeListen, LOOPBACK, secretEquals } from "@shop/runtime"
import { Effect } from "effect"
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"
import type { StreamMetrics } from "./StreamMetrics.ts"

/**
 * The stream processor's numbers in Prometheus' text format (prom-client): records in, Silver rows per table,
 * DLQ records per code, duplicates dropped, batch durations, consumer lag per partition and freshness, plus
 * the process' own (RSS, CPU, event loop). Totals are read from `metrics` when scraped.
 */
export const streamRegistry = (metrics: StreamMetrics): Registry => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: "shop_stream_" })
  /** A counter whose value is read from `metrics` at scrape time: one total, or one per label value. */
  const total = (name: string, help: string, read: () => number | Record<string, number>, label = "") =>
    new Counter({
      name,
      help,
      labelNames: label === "" ? [] : [label],
      registers: [registry],
      collect() {
        this.reset()
        const value = read()
        if (typeof value === "number") this.inc(value)
        else for (const [key, n] of Object.entries(value)) this.inc({ [label]: key }, n)
      },
    })
  total(
    "shop_stream_records_in_total",
    "Records read from events.raw and committed to the lake",
    () => metrics.recordsIn,
  )
  total("shop_stream_silver_rows_total", "Rows committed to Silver, per table", () => metrics.silverRows, "table")
  total(
    "shop_stream_dlq_records_total",
    "Records rejected to events.dlq and bronze/dlq, per contract error code",
    () => metrics.dlq,
    "code",
  )
  total(
    "shop_stream_duplicates_total",
    "Records dropped because their event_id is already in Silver",
    () => metrics.duplicates,
  )
  const batches = new Histogram({
    name: "shop_stream_batch_duration_seconds",
    help: "Micro-batch duration from routing to the lake and broker commits",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  metrics.onBatchDone = (ms) => batches.observe(ms / 1000)
  new Gauge({
    name: "shop_stream_consumer_lag_records",
    help: "Records in events.raw not yet committed to the lake, per partition",
    labelNames: ["partition"],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of metrics.partitions) this.set({ partition: String(p.partition) }, p.lag)
    },
  })
  new Gauge({
    name: "shop_stream_freshness_seconds",
    help: "Now minus the newest event time committed to Silver (absent before the first event)",
    registers: [registry],
    collect() {
      this.reset()
      if (metrics.newestEventTs !== null) this.set((Date.now() - metrics.newestEventTs) / 1000)
    },
  })
  return registry
}

export interface MetricsServeOptions {
  /** The address to bind; 127.0.0.1 unless given. */
  readonly hostname?: string | undefined
  /** When set, `/metrics` needs `Authorization: Bearer <token>` (METRICS_TOKEN). */
  readonly token?: string | undefined
}

/**
 * Serves `GET /metrics` for Prometheus on `port` (0: a free one) for the life of the scope, on 127.0.0.1
 * unless given a host, behind a bearer token when one is given.
 */
export const serveStreamMetrics = (port: number, metrics: StreamMetrics, options: MetricsServeOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const registry = streamRegistry(metrics)
      const hostname = options.hostname ?? LOOPBACK
      const token = options.token === "" ? undefined : options.token
      const server = Bun.serve({
        port,
        hostname,
        fetch: async (request) => {
          if (new URL(request.url).pathname !== "/metrics") {
            return new Response("not found: try /metrics\n", { status: 404 })
          }
          if (token !== undefined) {
            const [scheme = "", value = ""] = (request.headers.get("authorization") ?? "").trim().split(/\s+/, 2)
            if (scheme.toLowerCase() !== "bearer" || !secretEquals(value, token)) {
              return new Response("metrics need Authorization: Bearer <METRICS_TOKEN>\n", {
                status: 401,
                headers: { "www-authenticate": 'Bearer realm="metrics"' },
              })
            }
          }
          return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } })
        },
      })
      const bound = server.port ?? port
      return { server, port: bound, ...describeListen(hostname, bound) }
    }),
    ({ server }) => Effect.promise(() => server.stop(true)),
  )
