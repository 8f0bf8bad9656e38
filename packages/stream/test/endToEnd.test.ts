import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, deleteKafkaTopics, ensureDefaultTopics, layerEmbeddedAt, layerKafkaWith } from "@shop/broker"
import { TOPIC_DLQ, TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream, sumDlq, sumValid } from "@shop/generator"
import { Lake } from "@shop/lake"
import { Effect, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"
import { duckdb, expectSilverMatches, pyarrowCount } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "stream-e2e-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// The same spec runs on Apache Kafka when KAFKA_BROKERS is set (CI's Kafka step), with fresh topics.
const kafka = process.env.KAFKA_BROKERS ? process.env.KAFKA_BROKERS.split(",") : undefined
const brokerLayer = kafka ? layerKafkaWith({ brokers: kafka }) : layerEmbeddedAt(join(dir, "broker"))
const layers = Layer.mergeAll(brokerLayer, Lake.layerAt(dir))
const N = 100_000

describe("end to end: generator -> broker -> stream processor -> lake", () => {
  const stats = emptyStats()
  const expectedByOffset = new Map<string, GeneratedRecord["expected"]>()

  test("100k events with bad, duplicate and late records land exactly where they should", async () => {
    await Effect.runPromise(
      Effect.gen(function* () {
        const broker = yield* Broker
        if (kafka) yield* deleteKafkaTopics(kafka, [TOPIC_RAW, TOPIC_DLQ])
        yield* ensureDefaultTopics
        const stream = makeEventStream(
          {
            seed: 11,
            start: Date.parse("2026-11-01T00:00:00Z"),
            eps: 3,
            badRate: 0.03,
            dupRate: 0.02,
            lateRate: 0.02,
            seasonality: true,
          },
          stats,
        )
        let batch: Array<GeneratedRecord> = []
        const flush = Effect.gen(function* () {
          const positions = yield* broker.produce(TOPIC_RAW, batch)
          positions.forEach((p, i) => {
            expectedByOffset.set(`${p.partition}:${p.offset}`, batch[i]!.expected)
          })
          batch = []
        })
        for (const r of stream) {
          batch.push(r)
          if (batch.length === 5_000) yield* flush
          if (stats.records === N) break
        }
        yield* flush
        const summary = yield* runStreamProcessor({ availableNow: true })
        expect(summary.recordsIn).toBe(N)
      }).pipe(Effect.provide(layers)),
    )

    const db = await duckdb(dir)
    try {
      // Silver holds exactly the generator's accepted events, each event_id once.
      await expectSilverMatches(db, stats)
      // Every bad record is in the DLQ with the code it was made to fail with.
      const dlq = await db.rows(
        `select error_code, source_partition, source_offset::BIGINT as o from ${db.glob("bronze/dlq")}`,
      )
      expect(dlq.length).toBe(sumDlq(stats))
      for (const d of dlq) {
        const expected = expectedByOffset.get(`${d.source_partition}:${d.o}`)
        expect(expected).toEqual({ dlq: d.error_code as never })
      }
      // Nothing lost: Bronze = Silver + DLQ + duplicates.
      const bronze = await db.count("bronze/events")
      expect(bronze).toBe(N)
      expect(bronze).toBe(sumValid(stats) + dlq.length + stats.duplicates)
      // Money to the cent.
      const [orders] = await db.rows(
        `select sum(total)::VARCHAR as t, count(*)::INTEGER as n from ${db.glob("silver/order_placed")}`,
      )
      expect(orders!.n).toBe(stats.orders)
      expect(orders!.t).toBe((stats.orderTotalCents / 100).toFixed(2))
      const [lines] = await db.rows(
        `select count(*)::INTEGER as bad from ${db.glob("silver/order_item")} where line_total <> quantity * unit_price`,
      )
      expect(lines!.bad).toBe(0)
      // Late events sit in the partition of their own event_date.
      const [misplaced] = await db.rows(
        `select count(*)::INTEGER as n from ${db.glob("silver/page_view")} where event_date::DATE <> event_ts::DATE`,
      )
      expect(misplaced!.n).toBe(0)
    } finally {
      db.close()
    }

    // A second, independent reader agrees.
    expect(pyarrowCount(dir, "bronze/events")).toBe(N)
    expect(pyarrowCount(dir, "silver/page_view")).toBe(stats.valid.page_view!)
    expect(pyarrowCount(dir, "bronze/dlq")).toBe(sumDlq(stats))
  }, 120_000)

  test("events.dlq carries one contract DLQ record per rejected record", async () => {
    const ends = await Effect.runPromise(
      Effect.gen(function* () {
        return yield* (yield* Broker).endOffsets("events.dlq")
      }).pipe(Effect.provide(layers)),
    )
    expect(ends[0]!.offset).toBe(sumDlq(stats))
  })

  test("running again changes nothing (exactly once across restarts)", async () => {
    const summary = await Effect.runPromise(runStreamProcessor({ availableNow: true }).pipe(Effect.provide(layers)))
    expect(summary.recordsIn).toBe(0)
    const db = await duckdb(dir)
    try {
      expect(await db.count("bronze/events")).toBe(N)
    } finally {
      db.close()
    }
  })
})
