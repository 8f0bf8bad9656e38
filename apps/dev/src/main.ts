import { resolve } from "node:path"
import { Broker } from "@shop/broker"
import { brokerSink, emptyStats, loadCatalog, runGenerator } from "@shop/generator"
import { Lake } from "@shop/lake"
import { runCli } from "@shop/runtime"
import { runStreamProcessor } from "@shop/stream"
import { supersetChild } from "@shop/superset"
import { goldLoop, Warehouse } from "@shop/warehouse"
import { Console, Effect } from "effect"
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
    noSuperset: Flag.Boolean("no-superset").pipe(
      Flag.withDescription("Do not start Superset"),
      Flag.withDefault(false),
    ),
  },
  ({ eps, seed, noSuperset }) =>
    Effect.gen(function* () {
      const dataDir = resolve(process.env.DATA_DIR ?? "./data")
      const broker = yield* Broker
      yield* Console.error(
        [
          "shop-pulse dev",
          `  data:       ${dataDir}  (broker log in broker/, Parquet in bronze/ and silver/)`,
          `  generator:  ${eps} events/s into events.raw (seed ${seed})`,
          `  stream:     events.raw -> bronze/, silver/<event_type>/, events.dlq; numbers in _metrics/stream.json`,
          `  gold:       daily facts in gold/<fact>/ (orders, revenue, categories, funnel, active users), every 5 s`,
          `  superset:   ${noSuperset ? "off (--no-superset)" : "http://localhost:8088 (installs on first run; login in its log)"}`,
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
              onProgress: (line) => process.stderr.write(`[generator] ${line}\n`),
            },
            sink,
            stats,
          ),
        ),
      ).pipe(
        Effect.ensuring(
          Effect.sync(() => process.stderr.write(`[generator] stopped after ${stats.records} records\n`)),
        ),
      )
      const stream = runStreamProcessor({ availableNow: false, maxBatchMs: 1_000 })
      const gold = goldLoop(dataDir, 5_000, (line) => process.stderr.write(`${line}\n`)).pipe(
        Effect.provide(Warehouse.layer),
      )
      const superset = noSuperset ? Effect.void : supersetChild(8088)
      yield* Effect.all([generator, stream, gold, superset], { concurrency: "unbounded" }).pipe(
        Effect.provideService(Broker, broker),
        Effect.provide(Lake.layer),
      )
    }),
).pipe(
  Command.withDescription("Run the pipeline locally: simulated shop -> embedded broker -> stream processor -> gold"),
)

runCli(command)
