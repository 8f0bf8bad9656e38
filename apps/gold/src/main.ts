import { Lake } from "@shop/lake"
import { runCli } from "@shop/runtime"
import {
  COMPACT_EVERY_MS,
  goldLoop,
  REALTIME_EVERY_MS,
  refreshDailyFacts,
  refreshRealtime,
  Warehouse,
} from "@shop/warehouse"
import { Clock, Console, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"

/** `bun run gold`: the gold daily facts (DuckDB over Silver) under $DATA_DIR/gold, once or every few seconds. */
const command = Command.make(
  "gold",
  {
    once: Flag.Boolean("once").pipe(Flag.withDescription("Refresh once and exit"), Flag.withDefault(false)),
    all: Flag.Boolean("all").pipe(
      Flag.withDescription("Recompute every day, not only changed ones"),
      Flag.withDefault(false),
    ),
    intervalMs: Flag.Int("interval-ms").pipe(
      Flag.withDescription("Daily facts refresh period (changed days only)"),
      Flag.withDefault(5_000),
    ),
    realtimeMs: Flag.Int("realtime-ms").pipe(
      Flag.withDescription("Right-now rollups refresh period (incremental)"),
      Flag.withDefault(REALTIME_EVERY_MS),
    ),
  },
  ({ once, all, intervalMs, realtimeMs }) =>
    Effect.gen(function* () {
      const root = (yield* Lake).root
      if (once || all) {
        yield* refreshRealtime(root, yield* Clock.currentTimeMillis)
        const result = yield* refreshDailyFacts({ all })
        return yield* Console.error(
          `[gold] ${result.changedDays.length === 0 ? "nothing changed" : `recomputed ${result.changedDays.join(", ")}`}: ${JSON.stringify(result.written)}`,
        )
      }
      yield* goldLoop(intervalMs, COMPACT_EVERY_MS, realtimeMs)
    }).pipe(Effect.provide(Layer.merge(Warehouse.layer, Lake.layer))),
).pipe(Command.withDescription("Gold: minute rollups and top products (right now), and the daily facts"))

runCli(command)
