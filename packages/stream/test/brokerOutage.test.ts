/**
 * A broker that is away for a while (a restart) must not stop the processor, and a DLQ produce whose
 * acknowledgement was lost must not put a DLQ record on events.dlq twice. The real processor on the embedded
 * broker, behind a Broker that fails its calls with BrokerUnavailable the way kafkajs does once its own
 * retries are spent (the Kafka broker-restart spec in CI meets the same thing on a real broker).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, BrokerUnavailable, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_DLQ, TOPIC_RAW } from "@shop/contract"
import { Lake } from "@shop/lake"
import { collectLogs } from "@shop/runtime"
import { Effect, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"
import { duckdb } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const root = mkdtempSync(join(tmpdir(), "stream-outage-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const NOW = Date.now()
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`
const pageView = (n: number) =>
  JSON.stringify({
    schema_version: 1,
    event_id: uuid(n),
    event_type: "page_view",
    event_ts: new Date(NOW - 60_000).toISOString(),
    anonymous_id: "a-1",
    user_id: null,
    session_id: "s-1",
    context: { device: "desktop", country: "US" },
    page_type: "home",
    page_url: "/",
    category: null,
  })

/**
 * Calls through this broker fail for `durationMs` from `downFrom` on; the first `lostAcks` DLQ produces land,
 * then fail, and the outage starts there if it has not yet.
 */
interface Outage {
  downFrom: number
  durationMs: number
  lostAcks: number
  failures: number
}
const isDown = (o: Outage) => Date.now() >= o.downFrom && Date.now() < o.downFrom + o.durationMs

const flakyBroker = (dir: string, outage: Outage) =>
  Layer.effect(
    Broker,
    Effect.gen(function* () {
      const real = yield* Broker
      const away = <A>(what: string, call: Effect.Effect<A, never>) =>
        Effect.suspend(() => {
          if (!isDown(outage)) return call
          outage.failures++
          return Effect.fail(new BrokerUnavailable({ message: `${what}: Connection error: connect ECONNREFUSED` }))
        })
      return Broker.of({
        ...real,
        endOffsets: (topic) => away(`offsets of ${topic}`, real.endOffsets(topic).pipe(Effect.orDie)),
        startOffsets: (topic) => away(`offsets of ${topic}`, real.startOffsets(topic).pipe(Effect.orDie)),
        maxRecordBytes: (topic) => away(`config of ${topic}`, real.maxRecordBytes(topic).pipe(Effect.orDie)),
        produce: (topic, records) =>
          Effect.gen(function* () {
            const written = yield* away(`produce to ${topic}`, real.produce(topic, records).pipe(Effect.orDie))
            if (topic === TOPIC_DLQ && outage.lostAcks > 0) {
              outage.lostAcks--
              outage.failures++
              outage.downFrom = Math.min(outage.downFrom, Date.now())
              // Written, but the acknowledgement never came back (the broker went away mid-request).
              return yield* new BrokerUnavailable({ message: `produce to ${topic}: Connection closed` })
            }
            return written
          }),
        consumer: (options) =>
          real.consumer(options).pipe(
            Effect.map((c) => ({
              ...c,
              commit: (offsets) => away("commit offsets", c.commit(offsets).pipe(Effect.orDie)),
            })),
          ),
      })
    }),
  ).pipe(Layer.provide(layerEmbeddedAt(join(dir, "broker"))))

describe("the stream processor and a broker that goes away", () => {
  test("rides out an outage and a lost DLQ acknowledgement: Silver exact, each DLQ record once on events.dlq", async () => {
    const dir = join(root, "outage")
    const N = 3_000
    const values: Array<string> = []
    for (let i = 1; i <= N; i++) values.push(i % 10 === 0 ? `not json ${i}` : pageView(i))
    // Calls fail for 2 s from the first DLQ produce on: the processor meets the outage in the middle of a batch.
    const outage: Outage = { downFrom: Number.POSITIVE_INFINITY, durationMs: 2_000, lostAcks: 1, failures: 0 }
    const lines: Array<string> = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const broker = yield* Broker
        yield* broker.createTopic({ name: TOPIC_RAW, partitions: 2 })
        yield* broker.createTopic({ name: TOPIC_DLQ, partitions: 1 })
        yield* broker.produce(
          TOPIC_RAW,
          values.map((value, i) => ({ key: `k${i % 7}`, value, timestamp: NOW - 60_000 })),
        )
        yield* runStreamProcessor({ availableNow: true, maxBatchRecords: 500 }).pipe(Effect.provide(collectLogs(lines)))
        const dlq = yield* broker.endOffsets(TOPIC_DLQ)
        expect(dlq.reduce((s, e) => s + e.offset, 0)).toBe(N / 10)
      }).pipe(Effect.provide(Layer.mergeAll(flakyBroker(dir, outage), Lake.layerAt(dir)))),
    )
    expect(outage.lostAcks).toBe(0)
    expect(outage.failures).toBeGreaterThan(1)
    expect(lines.some((l) => l.startsWith("[stream] ") && l.includes("broker unavailable"))).toBe(true)
    const db = await duckdb(dir)
    try {
      expect(await db.count("silver/page_view")).toBe(N - N / 10)
      expect(await db.count("bronze/events")).toBe(N)
      expect(await db.count("bronze/dlq")).toBe(N / 10)
    } finally {
      db.close()
    }
  })

  test("stops with a one-line error naming the broker when the outage outlasts its limit", async () => {
    const dir = join(root, "too-long")
    const outage: Outage = { downFrom: 0, durationMs: Number.POSITIVE_INFINITY, lostAcks: 0, failures: 0 }
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        yield* runStreamProcessor({ availableNow: true, brokerOutageLimitMs: 1_500 })
      }).pipe(Effect.provide(Layer.mergeAll(flakyBroker(dir, outage), Lake.layerAt(dir)))),
    )
    expect(exit._tag).toBe("Failure")
    expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain("the broker did not answer for")
    expect(outage.failures).toBeGreaterThan(1)
  })
})
