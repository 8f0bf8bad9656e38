import { Lake } from "@shop/lake"
import { runCli } from "@shop/runtime"
import { runStreamProcessor } from "@shop/stream"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"

/** `bun run pipeline`: the stream processor, events.raw -> Bronze, Silver and events.dlq. */
const command = Command.make(
  "pipeline",
  {
    availableNow: Flag.Boolean("available-now").pipe(
      Flag.withDescription("Process everything events.raw holds now, then exit 0 (otherwise run until Ctrl-C)"),
      Flag.withDefault(false),
    ),
    batchRecords: Flag.Int("batch-records").pipe(
      Flag.withDescription("Micro-batch size bound"),
      Flag.withDefault(50_000),
    ),
    batchMs: Flag.Int("batch-ms").pipe(Flag.withDescription("Micro-batch time bound (ms)"), Flag.withDefault(500)),
  },
  ({ availableNow, batchRecords, batchMs }) =>
    runStreamProcessor({ availableNow, maxBatchRecords: batchRecords, maxBatchMs: batchMs }).pipe(
      Effect.provide(Lake.layer),
      Effect.asVoid,
    ),
).pipe(Command.withDescription("Stream processor: events.raw -> Bronze, Silver (Parquet) and events.dlq"))

runCli(command)
