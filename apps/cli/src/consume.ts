import { Broker, BrokerLayers } from "@shop/broker"
import { runCli } from "@shop/runtime"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { MAX_VALUE_CHARS, printable } from "./printable.ts"

const consume = Effect.fn("consume")(function* (options: {
  topic: string
  fromBeginning: boolean
  max: Option.Option<number>
  group: Option.Option<string>
  untilEnd: boolean
  pretty: boolean
  full: boolean
}) {
  const broker = yield* Broker
  // Like kafka-console-consumer: a throw-away group that never commits, unless one is named.
  const groupId = Option.getOrElse(options.group, () => `console-${crypto.randomUUID()}`)
  const consumer = yield* broker.consumer({ groupId, topics: [options.topic], fromBeginning: options.fromBeginning })
  const limit = Option.getOrElse(options.max, () => Number.POSITIVE_INFINITY)
  // Without --from-beginning a consumer starts at the end, so "until the end" is already reached.
  if (options.untilEnd && !options.fromBeginning) return
  const ends = options.untilEnd ? yield* broker.endOffsets(options.topic) : []
  const positions = new Map<number, number>()
  const caughtUp = () => ends.every((e) => (positions.get(e.partition) ?? -1) + 1 >= e.offset)
  let printed = 0
  while (printed < limit) {
    if (options.untilEnd && caughtUp()) break
    const records = yield* consumer.poll({ maxRecords: Math.min(1_000, limit - printed), maxWaitMs: 500 })
    const lines: Array<string> = []
    for (const r of records) {
      if (printed + lines.length >= limit) break
      lines.push(printable(r, { pretty: options.pretty, maxChars: options.full ? 0 : MAX_VALUE_CHARS }))
      positions.set(r.partition, r.offset)
    }
    if (lines.length > 0) process.stdout.write(lines.join("\n") + "\n")
    printed += lines.length
    if (Option.isSome(options.group) && records.length > 0) {
      yield* consumer.commit(
        [...positions].map(([partition, offset]) => ({ topic: options.topic, partition, offset: offset + 1 })),
      )
    }
  }
})

const command = Command.make(
  "consume",
  {
    topic: Flag.String("topic").pipe(Flag.withDescription("Topic to read")),
    fromBeginning: Flag.Boolean("from-beginning").pipe(
      Flag.withDescription("Start at the oldest retained record instead of the end"),
      Flag.withDefault(false),
    ),
    max: Flag.Int("max").pipe(
      Flag.withDescription("Stop after this many records"),
      Flag.filter(
        (n) => n > 0,
        () => "must be a whole number above 0",
      ),
      Flag.optional,
    ),
    group: Flag.String("group").pipe(
      Flag.withDescription("Consumer group to read and commit as (default: a throw-away group)"),
      Flag.optional,
    ),
    pretty: Flag.Boolean("pretty").pipe(
      Flag.withDescription("Print each value as its decoded JSON instead of a string"),
      Flag.withDefault(false),
    ),
    full: Flag.Boolean("full").pipe(
      Flag.withDescription(`Print long values whole (by default a value over ${MAX_VALUE_CHARS} characters is cut)`),
      Flag.withDefault(false),
    ),
    untilEnd: Flag.Boolean("until-end").pipe(
      Flag.withDescription("Stop once the end offsets seen at start are reached instead of following"),
      Flag.withDefault(false),
    ),
  },
  (options) => Effect.scoped(consume(options)),
).pipe(Command.withDescription("Print a topic's records as JSON lines"))

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
