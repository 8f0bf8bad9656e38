import { closeSync, openSync, writeSync } from "node:fs"
import { Broker, type BrokerError, ensureDefaultTopics } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Effect } from "effect"
import type { GeneratedRecord } from "./EventStream.ts"

/** Where generated records go: the broker, or JSON lines in a file or on stdout. */
export interface Sink {
  readonly write: (records: ReadonlyArray<GeneratedRecord>) => Effect.Effect<void, BrokerError>
}

export const brokerSink = Effect.gen(function* () {
  const broker = yield* Broker
  yield* ensureDefaultTopics
  return {
    write: (records) =>
      records.length === 0
        ? Effect.void
        : Effect.asVoid(
            broker.produce(
              TOPIC_RAW,
              records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
            ),
          ),
  } satisfies Sink
})

/** JSON lines (the record values) to `path`, or stdout for "-". */
export const fileSink = (path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => (path === "-" ? 1 : openSync(path, "w"))),
    (fd) => Effect.sync(() => fd !== 1 && closeSync(fd)),
  ).pipe(
    Effect.map(
      (fd): Sink => ({
        write: (records) =>
          Effect.sync(() => {
            if (records.length > 0) writeSync(fd, records.map((r) => r.value).join("\n") + "\n")
          }),
      }),
    ),
  )
