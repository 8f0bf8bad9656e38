import { resolve } from "node:path"
import { Broker } from "@shop/broker"
import { Dbt, dbtLoop } from "@shop/dbt"
import { brokerSink, emptyStats, loadCatalog, parseDuration, runGenerator } from "@shop/generator"
import { Lake } from "@shop/lake"
import {
  DashboardServer,
  dashboardAccessFromEnv,
  dashboardLayer,
  defaultDashboardHost,
  defaultDashboardPort,
} from "@shop/live"
import { defaultHost, describeListen, logLine, runCli, UsageError } from "@shop/runtime"
import { runStreamProcessor } from "@shop/stream"
import { supersetChild } from "@shop/superset"
import { goldLoop, Warehouse } from "@shop/warehouse"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"

/**
 * `bun run dev`: the pipeline in one supervised process on the embedded broker: the simulated shop producing
 * into events.raw and the stream processor writing Bronze, Silver and events.dlq. If either part fails, the
 * other is stopped too. Ctrl-C interrupts both; each finishes its batch in flight, so nothing acknowledged or
 * committed is lost and a restart continues where it stopped.
 */
const command = Command.make(
  "dev",
  {
    eps: Flag.Int("eps").pipe(Flag.withDescription("Simulated shop events per second"), Flag.withDefault(50)),
    seed: Flag.Int("seed").pipe(Flag.withDescription("Generator seed"), Flag.withDefault(Date.now() % 1_000_000)),
    host: Flag.String("host").pipe(
      Flag.withDescription(
        "Address the dashboard and Superset listen on (default 127.0.0.1, or DASHBOARD_HOST / SUPERSET_HOST; 0.0.0.0: every interface)",
      ),
      Flag.optional,
    ),
    dashboardPort: Flag.Int("dashboard-port").pipe(
      Flag.withDescription("Live dashboard port (default $DASHBOARD_PORT or 3000; 0 picks a free one)"),
      Flag.withDefault(defaultDashboardPort()),
    ),
    dbtEvery: Flag.String("dbt-every").pipe(
      Flag.withDescription("How often to run `dbt build` (e.g. 5m, 90s; off to disable; env DBT_EVERY)"),
      Flag.withDefault(process.env.DBT_EVERY ?? "5m"),
    ),
    noSuperset: Flag.Boolean("no-superset").pipe(
      Flag.withDescription("Do not start Superset"),
      Flag.withDefault(false),
    ),
  },
  ({ eps, seed, host, dashboardPort, dbtEvery, noSuperset }) =>
    Effect.gen(function* () {
      const dataDir = resolve(process.env.DATA_DIR ?? "./data")
      const dbtMs = dbtEvery === "off" ? 0 : parseDuration(dbtEvery)
      if (dbtMs === undefined)
        return yield* new UsageError({ message: `--dbt-every: not a duration or off: ${dbtEvery}` })
      const broker = yield* Broker
      const dashboardHost = Option.getOrElse(host, defaultDashboardHost)
      const supersetHost = Option.getOrElse(host, () => defaultHost("SUPERSET_HOST"))
      const superset = describeListen(supersetHost, 8088)
      const dashboardAt = describeListen(dashboardHost, dashboardPort)
      yield* Console.error(
        [
          "shop-pulse dev",
          `  data:       ${dataDir}  (broker log in broker/, Parquet in bronze/ and silver/)`,
          `  generator:  ${eps} events/s into events.raw (seed ${seed})`,
          `  stream:     events.raw -> bronze/, silver/<event_type>/, events.dlq; numbers in _metrics/stream.json`,
          `  gold:       daily facts in gold/<fact>/ (orders, revenue, categories, funnel, active users), every 5 s`,
          `  dbt:        ${dbtMs === 0 ? "off (--dbt-every off)" : `dbt build every ${dbtEvery} when python3 is available; marts in gold/dbt/`}`,
          `  dashboard:  listens on ${dashboardPort === 0 ? `${dashboardHost}, a free port (printed below)` : dashboardAt.listening}`,
          `  superset:   ${noSuperset ? "off (--no-superset)" : `${superset.url}, listens on ${superset.listening} (installs on first run; login in its log)`}`,
          "  nothing else listens: the broker is files under data/, the stream's metrics are off in dev (bun run pipeline serves them)",
          "  look:       bun run topics   |   bun run consume -- --topic events.dlq --from-beginning --max 5",
          "  stop:       Ctrl-C (run again to continue where it stopped)",
        ].join("\n"),
      )
      const stats = emptyStats()
      const generator = Effect.scoped(
        Effect.flatMap(brokerSink, (sink) =>
          runGenerator(
            {
              seed,
              eps,
              badRate: 0.005,
              dupRate: 0.005,
              lateRate: 0.005,
              catalog: loadCatalog(),
              onProgress: (line) => logLine(`[generator] ${line}`),
            },
            sink,
            stats,
          ),
        ),
      ).pipe(Effect.ensuring(Effect.sync(() => logLine(`[generator] stopped after ${stats.records} records`))))
      // 500 ms batches (the pipeline default) keep produced -> dashboard p95 under 2 s at 1,000 events/s (bun run bench freshness).
      const stream = runStreamProcessor({ availableNow: false, maxBatchMs: 500, log: logLine })
      const gold = goldLoop(dataDir, 5_000, (line) => logLine(`${line}`)).pipe(Effect.provide(Warehouse.layer))
      const dashboard = Effect.gen(function* () {
        const server = yield* DashboardServer
        yield* Console.error(`Dashboard: ${server.url}  (listening on ${server.listening})`)
        return yield* Effect.never
      }).pipe(
        Effect.provide(
          dashboardLayer({ root: dataDir, port: dashboardPort, hostname: dashboardHost, ...dashboardAccessFromEnv() }),
        ),
      )
      // dbt and Superset never stop the dev process: they log a failure and the pipeline goes on.
      const dbt = dbtMs === 0 ? Effect.void : dbtLoop(dataDir, dbtMs, (line) => logLine(`${line}`))
      const supersetRun = noSuperset ? Effect.void : supersetChild(8088, supersetHost)
      yield* Effect.all([generator, stream, gold, dashboard, dbt.pipe(Effect.provide(Dbt.layer)), supersetRun], {
        concurrency: "unbounded",
      }).pipe(Effect.provideService(Broker, broker), Effect.provide(Lake.layer))
    }),
).pipe(
  Command.withDescription("Run the pipeline locally: simulated shop -> embedded broker -> stream processor -> gold"),
)

runCli(command)
