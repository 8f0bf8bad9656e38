import { Broker, BrokerLayers, ensureDefaultTopics } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Lake } from "@shop/lake"
import { BadFlag, defaultHost, logLine, runCli } from "@shop/runtime"
import { runStreamProcessor, StreamMetrics, serveStreamMetrics } from "@shop/stream"
import { Config, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { runWorkers, splitPartitions } from "./workers.ts"

/** `bun run pipeline`: the stream processor, events.raw -> Bronze, Silver and events.dlq. */
const command = Command.make(
  "pipeline",
  {
    availableNow: Flag.Boolean("available-now").pipe(
      Flag.withDescription("Process everything events.raw holds now, then exit 0 (otherwise run until Ctrl-C)"),
      Flag.withDefault(false),
    ),
    workers: Flag.Int("workers").pipe(
      Flag.withDescription("Processes to split the partitions between (one core each)"),
      Flag.withDefault(1),
    ),
    partitions: Flag.String("partitions").pipe(
      Flag.withDescription("Own only these partitions, e.g. 0,2 (set by --workers)"),
      Flag.optional,
    ),
    batchRecords: Flag.Int("batch-records").pipe(
      Flag.withDescription("Micro-batch size bound"),
      Flag.withDefault(10_000),
    ),
    metricsPort: Flag.Int("metrics-port").pipe(
      Flag.withDescription("Prometheus /metrics port (env METRICS_PORT; 0: off; worker i of --workers uses port + i)"),
      Flag.withFallbackConfig(Config.Int("METRICS_PORT").pipe(Config.withDefault(9464))),
    ),
    metricsHost: Flag.String("metrics-host").pipe(
      Flag.withDescription(
        "Address /metrics listens on (env METRICS_HOST; default 127.0.0.1; 0.0.0.0: every interface)",
      ),
      Flag.withDefault(defaultHost("METRICS_HOST")),
    ),
    batchMs: Flag.Int("batch-ms").pipe(Flag.withDescription("Micro-batch time bound (ms)"), Flag.withDefault(500)),
  },
  ({ availableNow, workers, partitions, batchRecords, batchMs, metricsPort, metricsHost }) =>
    Effect.gen(function* () {
      const common = [
        ...(availableNow ? ["--available-now"] : []),
        "--batch-records",
        String(batchRecords),
        "--batch-ms",
        String(batchMs),
      ]
      // With --available-now, the gold step runs once after the stream has caught up (not in each worker).
      // Imported only here: a worker never runs gold, and DuckDB's module costs each process ~250 ms and 20 MB.
      const goldOnce = Effect.gen(function* () {
        const { refreshDailyFacts, Warehouse } = yield* Effect.promise(() => import("@shop/warehouse"))
        const result = yield* refreshDailyFacts().pipe(Effect.provide(Layer.merge(Warehouse.layer, Lake.layer)))
        logLine(`[gold] recomputed ${result.changedDays.length} days: ${JSON.stringify(result.written)}`)
      })
      if (workers > 1 && Option.isNone(partitions)) {
        const broker = yield* Broker
        yield* ensureDefaultTopics
        const count = (yield* broker.listTopics).find((t) => t.name === TOPIC_RAW)!.partitions
        yield* runWorkers(splitPartitions(count, workers), (i) => [
          ...common,
          "--metrics-port",
          String(metricsPort === 0 ? 0 : metricsPort + i),
          "--metrics-host",
          metricsHost,
        ])
        if (availableNow) yield* goldOnce
        return
      }
      const owned = Option.map(partitions, (p) => p.split(",").map(Number))
      if (Option.isSome(owned) && owned.value.some((p) => !Number.isInteger(p) || p < 0)) {
        return yield* new BadFlag({ message: `--partitions: expected numbers like 0,2` })
      }
      const metrics = new StreamMetrics()
      if (metricsPort !== 0 && !availableNow) {
        const token = Option.getOrUndefined(yield* Config.String("METRICS_TOKEN").pipe(Config.option))
        const server = yield* serveStreamMetrics(metricsPort, metrics, { hostname: metricsHost, token })
        logLine(
          `[stream] Prometheus metrics: ${server.url}/metrics (listening on ${server.listening}${token ? "; METRICS_TOKEN required" : ""})`,
        )
      }
      yield* runStreamProcessor({
        availableNow,
        metrics,
        maxBatchRecords: batchRecords,
        maxBatchMs: batchMs,
        ...(Option.isSome(owned) ? { partitions: owned.value } : {}),
      }).pipe(Effect.provide(Lake.layer))
      if (availableNow && Option.isNone(owned)) yield* goldOnce
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Stream processor: events.raw -> Bronze, Silver (Parquet) and events.dlq; then gold"))

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
