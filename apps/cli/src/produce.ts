import { Broker, BrokerLayers, ensureDefaultTopics } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { runCli } from "@shop/runtime"
import { Console, Effect, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { byteLines } from "./lineReader.ts"
import { ProgressLine } from "./progress.ts"
import { type RecordTime, recordOfLine } from "./recordOfLine.ts"

const BATCH = 5_000

class InputFileNotFound extends Schema.TaggedError<InputFileNotFound>()("InputFileNotFound", {
  file: Schema.String,
}) {
  override get message() {
    return `No such file: ${this.file}`
  }
}

const inputOf = (file: string): AsyncIterable<Uint8Array> =>
  file === "-" ? Bun.stdin.stream() : Bun.file(file).stream()

const produceFile = Effect.fn("produceFile")(function* (file: string, topic: string, recordTime: RecordTime) {
  const broker = yield* Broker
  if (file !== "-" && !(yield* Effect.promise(() => Bun.file(file).exists()))) {
    return yield* new InputFileNotFound({ file })
  }
  // The pipeline's own topics are created on first use; any other topic must exist.
  yield* ensureDefaultTopics
  const progress = new ProgressLine("produce")
  let batch: Array<ReturnType<typeof recordOfLine>> = []
  let produced = 0
  let skippedBlank = 0
  const flush = Effect.gen(function* () {
    if (batch.length === 0) return
    const records = batch
    batch = []
    yield* broker.produce(topic, records)
    produced += records.length
    progress.update(produced)
  })
  const lines = byteLines(inputOf(file))[Symbol.asyncIterator]()
  while (true) {
    const next = yield* Effect.promise(() => lines.next())
    if (next.done) break
    // A blank line carries no event (it is usually a trailing newline); skip it rather than DLQ it.
    if (next.value.length === 0 || (next.value.length === 1 && next.value[0] === 13)) {
      skippedBlank++
      continue
    }
    batch.push(recordOfLine(next.value, recordTime, Date.now()))
    if (batch.length >= BATCH) yield* flush
  }
  yield* flush
  progress.done(produced)
  yield* Console.error(
    `produced ${produced} records to ${topic}${skippedBlank > 0 ? ` (skipped ${skippedBlank} blank lines)` : ""}`,
  )
})

const command = Command.make(
  "produce",
  {
    file: Flag.String("file").pipe(Flag.withDescription("JSON lines to produce, one record per line; - for stdin")),
    topic: Flag.String("topic").pipe(Flag.withDescription("Topic to produce to"), Flag.withDefault(TOPIC_RAW)),
    recordTime: Flag.Literals("record-time", ["now", "event"]).pipe(
      Flag.withDescription("Record timestamp: now, or the line's event_ts when it parses"),
      Flag.withDefault("now"),
    ),
  },
  ({ file, topic, recordTime }) => produceFile(file, topic, recordTime),
).pipe(Command.withDescription("Produce each line of a file, byte for byte, as one record"))

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
