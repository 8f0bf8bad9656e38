import { Broker, type ConsumedRecord } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Effect } from "effect"

/** Every record of events.raw so far (each delivery, copies included), in offset order per partition. */
export const readRaw = Effect.gen(function* () {
  const broker = yield* Broker
  const consumer = yield* broker.consumer({
    groupId: `read-${Math.random()}`,
    topics: [TOPIC_RAW],
    fromBeginning: true,
  })
  const out: Array<ConsumedRecord> = []
  for (;;) {
    const got = yield* consumer.poll({ maxRecords: 10_000, maxWaitMs: 50 })
    if (got.length === 0) return out
    out.push(...got)
  }
}).pipe(Effect.scoped)

/** The records of events.raw parsed as JSON objects. */
export const readRawEvents = readRaw.pipe(
  Effect.map((records) => records.map((r) => JSON.parse(new TextDecoder().decode(r.value)) as Record<string, unknown>)),
)
