import { Broker, BrokerLayers } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Dbt, dbtLoop } from "@shop/dbt"
import { brokerSink, emptyStats, loadCatalog, runGenerator } from "@shop/generator"
import { Lake } from "@shop/lake"
import {
  DashboardServer,
  dashboardAccessFromEnv,
  dashboardLayer,
  defaultDashboardHost,
  defaultDashboardPort,
} from "@shop/live"
import {
  BadFlag,
  DataDir,
  defaultHost,
  describeListen,
  durationFlag,
  logLine,
  ProgressBar,
  portFlag,
  positiveNumberFlag,
  runCli,
} from "@shop/runtime"
import { runStreamProcessor } from "@shop/stream"
import { supersetChild } from "@shop/superset"
import { goldLoop, Warehouse } from "@shop/warehouse"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { devLock, portInUse } from "./devLock.ts"

/**
 * The shop's size: its average events per second over a day, for the history and the live shop alike, so the
 * live page and the daily charts describe one shop (before, the live shop ran at 50/s beside a 0.05/s history:
 * more sessions active in 5 minutes than the history had in a day). 0.1/s is ~8,600 events, ~1,600 sessions and
 * ~50 orders a day; its 28-day history (~250k events) reaches the gold facts and the dbt marts in ~32 s on the
 * shared 2-core machine at load 8-11 (apps/dev/test/firstRun.test.ts, budget 90 s). 0.25/s took 25 s at load 3
 * but 55-95 s at load 8-11: too close to the budget.
 */
const DEFAULT_EPS = 0.1
/** Events per session in the simulated shop (the generator's mean), to say what a rate means in sessions. */
const EVENTS_PER_SESSION = 5.4
/** A history above this many events takes minutes to backfill and process: the header says so. */
const LONG_HISTORY_EVENTS = 1_000_000

const shopSize = (eps: number) => {
  const perDay = eps * 86_400
  const round = (n: number) => (n >= 100 ? Math.round(n / 10) * 10 : Math.round(n)).toLocaleString("en-US")
  return `~${round(perDay)} events, ~${round(perDay / EVENTS_PER_SESSION)} sessions a day`
}

/** Records in events.raw: 0 on a fresh data directory. */
const recordsInRaw = Effect.gen(function* () {
  const broker = yield* Broker
  if (!(yield* broker.listTopics).some((t) => t.name === TOPIC_RAW)) return 0
  return (yield* broker.endOffsets(TOPIC_RAW)).reduce((sum, e) => sum + e.offset, 0)
})

/**
 * `bun run dev`: the pipeline in one supervised process on the embedded broker: the simulated shop producing
 * into events.raw and the stream processor writing Bronze, Silver and events.dlq. If either part fails, the
 * other is stopped too. Ctrl-C interrupts both; each finishes its batch in flight, so nothing acknowledged or
 * committed is lost and a restart continues where it stopped.
 */
const command = Command.make(
  "dev",
  {
    eps: positiveNumberFlag(
      "eps",
      "The shop's size: average events per second of the history and of the live shop (decimals allowed)",
      DEFAULT_EPS,
    ),
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("Generator seed (the history uses it, the live shop seed + 1)"),
      Flag.withDefault(Date.now() % 1_000_000),
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription(
        "Address the dashboard and Superset listen on (default 127.0.0.1, or DASHBOARD_HOST / SUPERSET_HOST; 0.0.0.0: every interface)",
      ),
      Flag.optional,
    ),
    dashboardPort: portFlag(
      "dashboard-port",
      "Live dashboard port (default $DASHBOARD_PORT or 3000; 0 picks a free one)",
      defaultDashboardPort(),
    ),
    dbtEvery: durationFlag(
      "dbt-every",
      "How often to run `dbt build` (e.g. 5m, 90s; off to disable; env DBT_EVERY)",
      process.env.DBT_EVERY ?? "5m",
      { off: true },
    ),
    historyDays: Flag.Int("history-days").pipe(
      Flag.withDescription("On a fresh data directory, first backfill this many days of history (0: none)"),
      Flag.withDefault(28),
      Flag.filter(
        (n) => n >= 0 && n <= 366,
        () => `must be 0 to 366 days`,
      ),
    ),
    noSuperset: Flag.Boolean("no-superset").pipe(
      Flag.withDescription("Do not start Superset"),
      Flag.withDefault(false),
    ),
  },
  ({ eps, seed, host, dashboardPort, dbtEvery: dbtMs, historyDays, noSuperset }) =>
    Effect.gen(function* () {
      const dataDir = yield* DataDir
      const dbtEvery = dbtMs === 0 ? "off" : dbtMs % 60_000 === 0 ? `${dbtMs / 60_000}m` : `${dbtMs / 1000}s`
      const dashboardHost = Option.getOrElse(host, defaultDashboardHost)
      // Every check before anything starts: nothing is produced by a run that cannot go on.
      yield* devLock(dataDir)
      if (dashboardPort !== 0) {
        const busy = yield* Effect.promise(() => portInUse(dashboardHost, dashboardPort))
        if (busy !== undefined) {
          return yield* new BadFlag({
            message:
              busy.code === "EADDRINUSE"
                ? `--dashboard-port ${dashboardPort}: ${dashboardHost}:${dashboardPort} is already in use by another program; pick another port with --dashboard-port N (0: a free one)`
                : `--dashboard-port ${dashboardPort}: cannot listen on ${dashboardHost}:${dashboardPort} (${busy.code ?? busy.message}); pick another with --dashboard-port N or --host H`,
          })
        }
      }
      const broker = yield* Broker
      const fresh = (yield* recordsInRaw) === 0
      const supersetHost = Option.getOrElse(host, () => defaultHost("SUPERSET_HOST"))
      const superset = describeListen(supersetHost, 8088)
      const dashboardAt = describeListen(dashboardHost, dashboardPort)
      const historyEvents = eps * 86_400 * historyDays
      yield* Console.error(
        [
          "shop-pulse dev",
          `  data:       ${dataDir}  (broker log in broker/, Parquet in bronze/ and silver/)`,
          `  shop size:  ${eps} events/s (${shopSize(eps)}; --eps N), the same in the history and live`,
          `  history:    ${fresh && historyDays > 0 ? `${historyDays} day${historyDays === 1 ? "" : "s"} backfilled first (fresh data directory; --history-days 0 skips it)${historyEvents > LONG_HISTORY_EVENTS ? `: ~${Math.round(historyEvents / 1e6)}M events at --eps ${eps}, minutes of work; a smaller --eps or --history-days is quicker` : ""}` : fresh ? "none (--history-days 0)" : "kept (not a fresh data directory)"}`,
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
      const backfilled = fresh && historyDays > 0
      if (backfilled) {
        const bar = new ProgressBar("[history]")
        const history = emptyStats()
        const started = performance.now()
        yield* Effect.scoped(
          Effect.flatMap(brokerSink, (sink) =>
            runGenerator(
              {
                seed,
                eps,
                badRate: 0.005,
                dupRate: 0.005,
                lateRate: 0.005,
                // 2% of sessions are bots, so the live page's bots figure has something to show.
                botRate: 0.02,
                backfillDays: historyDays,
                catalog: loadCatalog(),
                onBackfillProgress: (fraction, s) =>
                  bar.update(fraction, `${s.records.toLocaleString("en-US")} events`),
              },
              sink,
              history,
            ),
          ),
        ).pipe(Effect.provideService(Broker, broker))
        bar.done(
          `${history.records.toLocaleString("en-US")} events of ${historyDays} day${historyDays === 1 ? "" : "s"} into events.raw (record time = event time)`,
        )
        const produced = performance.now()
        logLine(
          `[history] backfilled ${history.records} events in ${((produced - started) / 1000).toFixed(1)} s; processing them into the lake before the live shop starts`,
        )
        // The history goes through the stream processor alone first (it is the whole lake so far): gold and dbt
        // then see every day complete from their first run, instead of recomputing days while they fill.
        yield* Effect.scoped(runStreamProcessor({ availableNow: true, maxBatchRecords: 100_000 })).pipe(
          Effect.provideService(Broker, broker),
          Effect.provide(Lake.layer),
        )
        logLine(
          `[history] ${historyDays} days in Silver in ${((performance.now() - produced) / 1000).toFixed(1)} s; the live shop continues from now`,
        )
      }
      const stats = emptyStats()
      const generator = Effect.scoped(
        Effect.flatMap(brokerSink, (sink) =>
          runGenerator(
            {
              // Not the history's seed: the same seed would repeat its event ids (a duplicate across days).
              seed: seed + 1,
              eps,
              badRate: 0.005,
              dupRate: 0.005,
              lateRate: 0.005,
              catalog: loadCatalog(),
              progress: true,
              // A small shop makes a few events a second: a line every 30 s says it is alive without a flood.
              progressEveryMs: 30_000,
            },
            sink,
            stats,
          ),
        ),
      ).pipe(Effect.ensuring(Effect.sync(() => logLine(`[generator] stopped after ${stats.records} records`))))
      // 500 ms batches (the pipeline default) keep produced -> dashboard p95 under 2 s at 1,000 events/s (bun run bench freshness).
      const stream = runStreamProcessor({ availableNow: false, maxBatchMs: 500 })
      const gold = goldLoop(5_000).pipe(Effect.provide(Warehouse.layer))
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
      // After a history the lake is complete already: the first build comes at once (the marts have 28 days soon).
      const dbt = dbtMs === 0 ? Effect.void : dbtLoop(dataDir, dbtMs, backfilled ? { firstAfterMs: 1_000 } : {})
      const supersetRun = noSuperset ? Effect.void : supersetChild(8088, supersetHost)
      const parts = 4 + (dbtMs === 0 ? 0 : 1) + (noSuperset ? 0 : 1)
      yield* Effect.all([generator, stream, gold, dashboard, dbt.pipe(Effect.provide(Dbt.layer)), supersetRun], {
        concurrency: "unbounded",
      }).pipe(
        Effect.provideService(Broker, broker),
        Effect.provide(Lake.layer),
        Effect.onExit(() =>
          Effect.sync(() =>
            logLine(
              `stopped: all ${parts} processes exited (generator, stream, gold, dashboard${dbtMs === 0 ? "" : ", dbt"}${noSuperset ? "" : ", superset"})`,
            ),
          ),
        ),
      )
    }).pipe(Effect.scoped),
).pipe(
  Command.withDescription("Run the pipeline locally: simulated shop -> embedded broker -> stream processor -> gold"),
)

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
