import type { Broker, BrokerError } from "@shop/broker"
import { BrokerLayers } from "@shop/broker"
import {
  brokerSink,
  emptyStats,
  fileSink,
  type GeneratorStats,
  httpSink,
  loadCatalog,
  parseDuration,
  runGenerator,
  type Sink,
} from "@shop/generator"
import { BadFlag, logLine, runCli } from "@shop/runtime"
import { Console, Effect, Option, type Scope } from "effect"
import { Command, Flag } from "effect/cli"

const rate = (name: string, what: string) =>
  Flag.Finite(name).pipe(
    Flag.withDescription(`Fraction of records that are ${what} (0..1)`),
    Flag.withDefault(0),
    Flag.filter(
      (r) => r >= 0 && r < 1,
      (r) => `--${name} must be from 0 to below 1, got ${r}`,
    ),
  )

const summary = (stats: GeneratorStats) =>
  `generated ${stats.records.toLocaleString("en-US")} records: ${JSON.stringify({
    valid: stats.valid,
    duplicates: stats.duplicates,
    dlq: stats.dlq,
    late: stats.late,
    sessions: stats.sessions,
    orders: stats.orders,
  })}`

const command = Command.make(
  "generate",
  {
    eps: Flag.Finite("eps").pipe(
      Flag.withDescription(
        "Events per second, decimals allowed: paced in live mode (default 50); the average rate of a backfill (default 2; bun run dev's shop is 0.1)",
      ),
      Flag.filter(
        (n) => n > 0,
        () => `must be a number above 0`,
      ),
      Flag.optional,
    ),
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("Random seed: the same seed gives the same events"),
      Flag.withDefault(42),
    ),
    duration: Flag.String("duration").pipe(
      Flag.withDescription("Stop after this long, e.g. 90s, 10m, 2h"),
      Flag.optional,
    ),
    maxEvents: Flag.Int("max-events").pipe(
      Flag.withDescription("Stop after this many records"),
      Flag.filter(
        (n) => n > 0,
        () => `must be a whole number above 0`,
      ),
      Flag.optional,
    ),
    backfillDays: Flag.Finite("backfill-days").pipe(
      Flag.withDescription("Generate this many days of history as fast as possible, record time = event time"),
      Flag.filter(
        (n) => n > 0,
        () => `must be above 0 days`,
      ),
      Flag.optional,
    ),
    end: Flag.String("end").pipe(
      Flag.withDescription("End of the backfill window (ISO time; default now). Fix it for byte-identical reruns"),
      Flag.optional,
    ),
    badRate: rate("bad-rate", "contract violations (every DLQ kind)"),
    dupRate: rate("dup-rate", "redeliveries of an earlier event"),
    lateRate: rate("late-rate", "late deliveries (minutes to days after the event)"),
    botRate: Flag.Finite("bot-rate").pipe(
      Flag.withDescription(
        "Fraction of sessions that are bots: crawler user agents, and scripts too fast for a person (0..1)",
      ),
      Flag.withDefault(0),
      Flag.filter(
        (r) => r >= 0 && r <= 1,
        (r) => `--bot-rate must be between 0 and 1, got ${r}`,
      ),
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("Write JSON lines to this file (- for stdout) instead of producing to the broker"),
      Flag.optional,
    ),
    sink: Flag.String("sink").pipe(
      Flag.withDescription(
        "Send to a collector instead of the broker, e.g. http://localhost:8080 (with the write key in env COLLECTOR_WRITE_KEY)",
      ),
      Flag.optional,
    ),
    catalog: Flag.String("catalog").pipe(
      Flag.withDescription("Catalog CSV (default dbt/seeds/dim_sku.csv)"),
      Flag.optional,
    ),
  },
  (flags) =>
    Effect.gen(function* () {
      const durationMs = Option.map(flags.duration, parseDuration)
      if (Option.isSome(durationMs) && durationMs.value === undefined) {
        return yield* new BadFlag({
          message: `--duration ${Option.getOrThrow(flags.duration)}: expected e.g. 90s, 10m, 2h`,
        })
      }
      const end = Option.map(flags.end, Date.parse)
      if (Option.isSome(end) && Number.isNaN(end.value)) {
        return yield* new BadFlag({ message: `--end: expected an ISO time such as 2026-11-24T00:00:00Z` })
      }
      const backfill = Option.getOrUndefined(flags.backfillDays)
      const options = {
        seed: flags.seed,
        eps: Option.getOrElse(flags.eps, () => (backfill === undefined ? 50 : 2)),
        badRate: flags.badRate,
        dupRate: flags.dupRate,
        lateRate: flags.lateRate,
        botRate: flags.botRate,
        maxEvents: Option.getOrUndefined(flags.maxEvents),
        durationMs: Option.getOrUndefined(durationMs) ?? undefined,
        backfillDays: backfill,
        end: Option.getOrUndefined(end),
        catalog: loadCatalog(Option.getOrUndefined(flags.catalog)),
        progress: true,
      }
      const stats = emptyStats()
      const sink: Effect.Effect<Sink, BrokerError, Broker | Scope.Scope> = Option.isSome(flags.out)
        ? fileSink(flags.out.value)
        : Option.isSome(flags.sink)
          ? Effect.succeed(httpSink(flags.sink.value, process.env.COLLECTOR_WRITE_KEY))
          : brokerSink
      const target = Option.isSome(flags.out)
        ? flags.out.value
        : Option.isSome(flags.sink)
          ? `the collector at ${flags.sink.value}`
          : "events.raw"
      yield* Console.error(
        backfill === undefined
          ? `generating ${options.eps} events/s into ${target} (Ctrl-C to stop)`
          : `backfilling ${backfill} days at ~${options.eps} events/s into ${target}`,
      )
      yield* Effect.scoped(Effect.flatMap(sink, (s) => runGenerator(options, s, stats))).pipe(
        // Also on Ctrl-C: say what was sent.
        Effect.ensuring(Effect.sync(() => logLine(`${summary(stats)}`))),
      )
    }),
).pipe(Command.withDescription("The simulated shop: sessions, carts, orders and returns as contract v1 events"))

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
