import { resolve } from "node:path"
import { Broker } from "@shop/broker"
import { brokerSink, emptyStats, loadCatalog, runGenerator } from "@shop/generator"
import { runCli } from "@shop/runtime"
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"

/**
 * `bun run dev`: the whole pipeline in one supervised process on the embedded broker. Ctrl-C interrupts
 * every part; each finishes the batch in flight, so nothing acknowledged is lost and a restart continues.
 */
const command = Command.make(
  "dev",
  {
    eps: Flag.Int("eps").pipe(Flag.withDescription("Simulated shop events per second"), Flag.withDefault(50)),
    seed: Flag.Int("seed").pipe(Flag.withDescription("Generator seed"), Flag.withDefault(Date.now() % 1_000_000)),
  },
  ({ eps, seed }) =>
    Effect.gen(function* () {
      const dataDir = resolve(process.env.DATA_DIR ?? "./data")
      const broker = yield* Broker
      yield* Console.error(
        [
          "shop-pulse dev",
          `  data:       ${dataDir} (broker log under ${dataDir}/broker)`,
          `  generator:  ${eps} events/s into events.raw (seed ${seed})`,
          "  look:       bun run topics   |   bun run consume -- --topic events.raw --max 5",
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
      ).pipe(Effect.provideService(Broker, broker))
      yield* generator.pipe(
        Effect.ensuring(
          Effect.sync(() => process.stderr.write(`[dev] stopped; generator sent ${stats.records} records\n`)),
        ),
      )
    }),
).pipe(Command.withDescription("Run the pipeline locally: generator into the embedded broker"))

runCli(command)
