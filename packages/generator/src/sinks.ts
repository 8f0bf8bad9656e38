import { closeSync, openSync, writeSync } from "node:fs"
import { Broker, type BrokerError, ensureDefaultTopics } from "@shop/broker"
import { MAX_EVENTS_PER_REQUEST, MAX_RECORD_BYTES, TOPIC_RAW } from "@shop/contract"
import { Effect, Schedule, Schema } from "effect"
import type { GeneratedRecord } from "./EventStream.ts"

/** The collector refused a batch or could not be reached (after retries). */
export class CollectorError extends Schema.TaggedError<CollectorError>()("CollectorError", {
  message: Schema.String,
}) {}

/** Where generated records go: the broker, an HTTP collector, or JSON lines in a file or on stdout. */
export interface Sink {
  readonly write: (records: ReadonlyArray<GeneratedRecord>) => Effect.Effect<void, BrokerError | CollectorError>
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

/**
 * Each batch POSTed as NDJSON to a collector's `/v1/events`, bytes unchanged, as a shop's backend would send
 * them: with `writeKey` (the collector's COLLECTOR_WRITE_KEYS) as `Authorization: Bearer` when given.
 */
export const httpSink = (baseUrl: string, writeKey?: string): Sink => {
  const url = new URL("/v1/events", baseUrl).toString()
  const headers: Record<string, string> = { "content-type": "application/x-ndjson" }
  if (writeKey !== undefined && writeKey !== "") headers.authorization = `Bearer ${writeKey}`
  const post = (body: string) =>
    Effect.tryPromise({
      try: async () => {
        const response = await fetch(url, { method: "POST", headers, body })
        // An event over the record limit (an injected too_large fault) is sent alone; the collector refuses it
        // at the edge with 413, which is the expected outcome, so it never reaches events.raw.
        if (response.status === 413 && Buffer.byteLength(body) > MAX_RECORD_BYTES) return
        if (response.status !== 202) {
          throw new Error(`${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`)
        }
      },
      catch: (cause) => new CollectorError({ message: cause instanceof Error ? cause.message : String(cause) }),
    })
  // The collector's request limits are 1 MiB and MAX_EVENTS_PER_REQUEST events: batches are split under both.
  const chunks = (records: ReadonlyArray<GeneratedRecord>) => {
    const out: Array<string> = []
    let lines: Array<string> = []
    let bytes = 0
    for (const r of records) {
      const n = Buffer.byteLength(r.value) + 1
      if (n > MAX_RECORD_BYTES) {
        out.push(r.value)
        continue
      }
      if ((bytes + n > 512 * 1024 || lines.length >= MAX_EVENTS_PER_REQUEST) && lines.length > 0) {
        out.push(lines.join("\n"))
        lines = []
        bytes = 0
      }
      lines.push(r.value)
      bytes += n
    }
    if (lines.length > 0) out.push(lines.join("\n"))
    return out
  }
  return {
    write: (records) =>
      Effect.forEach(chunks(records), (body) =>
        post(body).pipe(Effect.retry({ schedule: Schedule.exponential("100 millis"), times: 5 })),
      ).pipe(Effect.asVoid),
  }
}
