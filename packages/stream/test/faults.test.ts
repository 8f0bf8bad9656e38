/**
 * Fault specs of issue 12: one record, one odd timestamp or one split of the partitions must not stop a
 * partition, lose an event or let a duplicate into Silver. Each case runs the real processor on the embedded
 * broker in a temp dir and checks the lake with DuckDB (an independent reader).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt, type ProducerRecord } from "@shop/broker"
import { TOPIC_DLQ, TOPIC_RAW } from "@shop/contract"
import { Lake, type LakeFaults } from "@shop/lake"
import { Effect, Layer } from "effect"
import { runStreamProcessor, type StreamOptions } from "../src/index.ts"
import { duckdb } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const root = mkdtempSync(join(tmpdir(), "stream-faults-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let dirs = 0
const freshDir = () => join(root, `case-${++dirs}`)

const DAY = 86_400_000
const NOW = Date.parse("2026-11-24T12:00:00.000Z")
let ids = 0
/** A distinct UUID per call (or the given number's). */
const uuid = (n = ++ids) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

const pageView = (id: string, ts: number, session = "s-1") =>
  JSON.stringify({
    schema_version: 1,
    event_id: id,
    event_type: "page_view",
    event_ts: new Date(ts).toISOString(),
    anonymous_id: "a-1",
    user_id: null,
    session_id: session,
    context: { device: "desktop", country: "US" },
    page_type: "home",
    page_url: "/",
    category: null,
  })

const envelope = (id: string, ts: number) => ({
  schema_version: 1,
  event_id: id,
  event_ts: new Date(ts).toISOString(),
  anonymous_id: "a-1",
  user_id: null,
  session_id: "s-1",
  context: { device: "desktop", country: "US" },
})

interface Produced {
  readonly value: string | Uint8Array
  readonly timestamp: number
  readonly partition?: number
  readonly key?: string
}

const produce = (dir: string, records: ReadonlyArray<Produced>, partitions = 3) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const broker = yield* Broker
      yield* broker.createTopic({ name: TOPIC_RAW, partitions })
      yield* broker.createTopic({ name: TOPIC_DLQ, partitions: 1 })
      yield* broker.produce(
        TOPIC_RAW,
        records.map(
          (r): ProducerRecord => ({
            key: r.key ?? "k",
            value: r.value,
            timestamp: r.timestamp,
            ...(r.partition === undefined ? {} : { partition: r.partition }),
          }),
        ),
      )
    }).pipe(Effect.provide(layerEmbeddedAt(join(dir, "broker")))),
  )

const process_ = (dir: string, options: Partial<StreamOptions> = {}, faults: LakeFaults = {}) =>
  Effect.runPromise(
    runStreamProcessor({ availableNow: true, ...options }).pipe(
      Effect.provide(Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir, faults))),
    ),
  )

const dlqTopic = (dir: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const broker = yield* Broker
      const consumer = yield* broker.consumer({
        groupId: `read-${Math.random()}`,
        topics: [TOPIC_DLQ],
        fromBeginning: true,
      })
      const out: Array<Record<string, unknown> & { bytes: number }> = []
      for (;;) {
        const got = yield* consumer.poll({ maxRecords: 1000, maxWaitMs: 200 })
        if (got.length === 0) break
        for (const r of got) out.push({ ...JSON.parse(new TextDecoder().decode(r.value)), bytes: r.value.byteLength })
      }
      return out
    }).pipe(Effect.scoped, Effect.provide(layerEmbeddedAt(join(dir, "broker")))),
  )

const silverIds = async (dir: string, table = "page_view") => {
  const db = await duckdb(dir)
  try {
    return (await db.rows(`select event_id from ${db.glob(`silver/${table}`)} order by event_id`)).map(
      (r) => r.event_id,
    )
  } finally {
    db.close()
  }
}

describe("one record cannot stop a partition", () => {
  test("integers past 2^31 are stored exactly; unsafe and negative ones go to the DLQ", async () => {
    const dir = freshDir()
    const big = 2 ** 31
    await produce(dir, [
      {
        value: JSON.stringify({ ...envelope(uuid(1), NOW), event_type: "search", query: "q", results_count: big }),
        timestamp: NOW,
        partition: 0,
      },
      {
        value: JSON.stringify({
          ...envelope(uuid(2), NOW),
          event_type: "checkout_started",
          cart_value: 1,
          item_count: big,
          currency: "USD",
        }),
        timestamp: NOW,
        partition: 0,
      },
      // 2^53 + 1 cannot be written exactly in a JSON number a reader parses as a double.
      {
        value: `${JSON.stringify({ ...envelope(uuid(3), NOW), event_type: "search", query: "q" }).slice(0, -1)},"results_count":9007199254740993}`,
        timestamp: NOW,
        partition: 0,
      },
      {
        value: JSON.stringify({ ...envelope(uuid(4), NOW), event_type: "search", query: "q", results_count: -1 }),
        timestamp: NOW,
        partition: 0,
      },
      { value: pageView(uuid(5), NOW), timestamp: NOW, partition: 0 },
    ])
    await process_(dir)
    const db = await duckdb(dir)
    try {
      expect(await db.rows(`select results_count::VARCHAR as n from ${db.glob("silver/search")}`)).toEqual([
        { n: String(big) },
      ])
      expect(await db.rows(`select item_count::VARCHAR as n from ${db.glob("silver/checkout_started")}`)).toEqual([
        { n: String(big) },
      ])
      const dlq = await db.rows(
        `select source_offset::INTEGER as o, error_code as c, error_path as p from ${db.glob("bronze/dlq")} order by 1`,
      )
      expect(dlq).toEqual([
        { o: 2, c: "schema_violation", p: "results_count" },
        { o: 3, c: "schema_violation", p: "results_count" },
      ])
    } finally {
      db.close()
    }
    expect(await silverIds(dir)).toEqual([uuid(5)])
  })

  test("a record whose Silver row cannot be encoded goes to the DLQ with its bytes; the rest of the batch lands", async () => {
    const dir = freshDir()
    const poison = uuid()
    const others = [uuid(), uuid(), uuid()]
    await produce(
      dir,
      [others[0]!, poison, others[1]!, others[2]!].map((id) => ({
        value: pageView(id, NOW),
        timestamp: NOW,
        partition: 1,
      })),
    )
    // The test layer's encoder throws for one row, as a bug or an unforeseen value would.
    await process_(dir, {}, { encodeRow: (_table, row) => row.event_id !== poison })
    expect(await silverIds(dir)).toEqual([...others].sort())
    const db = await duckdb(dir)
    try {
      const [d] = await db.rows(
        `select error_code as c, error_message as m, payload as p from ${db.glob("bronze/dlq")}`,
      )
      expect(d!.c).toBe("schema_violation")
      expect(String(d!.m)).toContain("could not be written to Silver")
      expect(d!.p).toBe(pageView(poison, NOW))
      expect(await db.count("bronze/events")).toBe(4)
    } finally {
      db.close()
    }
    const topic = await dlqTopic(dir)
    expect(topic.map((r) => (r.source as { offset: number }).offset)).toEqual([1])
  })

  test("a DLQ record is bounded in bytes after encoding, below the broker's limit; bronze keeps the whole payload", async () => {
    const dir = freshDir()
    // Control bytes are escaped as \u00XX in JSON: six bytes each.
    const control = new Uint8Array(200_000).map((_, i) => (i % 31) + 1)
    await produce(dir, [{ value: control, timestamp: NOW, partition: 0 }])
    const limit = 100_000
    await process_(dir, { dlqRecordMaxBytes: limit })
    const [d] = await dlqTopic(dir)
    expect(d!.bytes).toBeLessThanOrEqual(limit)
    expect((d!.error as { code: string }).code).toBe("too_large")
    const db = await duckdb(dir)
    try {
      const [b] = await db.rows(`select length(payload)::INTEGER as n from ${db.glob("bronze/dlq")}`)
      expect(b!.n).toBe(200_000)
    } finally {
      db.close()
    }
  })

  test("a record with a BOM is judged and kept by its bytes", async () => {
    const dir = freshDir()
    const body = pageView(uuid(), NOW)
    const bom = new Uint8Array([0xef, 0xbb, 0xbf])
    const padded = new TextEncoder().encode(`${body.slice(0, -1)},"pad":"${"x".repeat(65_536 - body.length - 3 - 8)}"}`)
    const oversized = new Uint8Array([...bom, ...padded]) // 65,536 + 3 bytes
    expect(oversized.byteLength).toBeGreaterThan(65_536)
    const small = new Uint8Array([...bom, ...new TextEncoder().encode(pageView(uuid(), NOW))])
    await produce(dir, [
      { value: oversized, timestamp: NOW, partition: 0 },
      { value: small, timestamp: NOW, partition: 0 },
    ])
    await process_(dir)
    const db = await duckdb(dir)
    try {
      const [d] = await db.rows(`select error_code as c from ${db.glob("bronze/dlq")}`)
      expect(d!.c).toBe("too_large")
      const bronze = await db.rows(
        `select "offset"::INTEGER as o, octet_length(coalesce(value_bytes, encode(value)))::INTEGER as n from ${db.glob("bronze/events")} order by 1`,
      )
      expect(bronze).toEqual([
        { o: 0, n: oversized.byteLength },
        { o: 1, n: small.byteLength },
      ])
    } finally {
      db.close()
    }
    expect((await silverIds(dir)).length).toBe(1)
  })
})

describe("dedup is exact whatever the record timestamps say", () => {
  test("an old copy after a newer record is still a duplicate (produce --record-time event)", async () => {
    const dir = freshDir()
    const a = uuid()
    const b = uuid()
    const tA = NOW - 45 * DAY
    const tB = NOW - 2 * DAY
    await produce(dir, [
      { value: pageView(a, tA), timestamp: tA, partition: 0 },
      { value: pageView(b, tB), timestamp: tB, partition: 0 },
      { value: pageView(a, tA), timestamp: tA, partition: 0 },
    ])
    await process_(dir, { maxBatchRecords: 1 })
    expect(await silverIds(dir)).toEqual([a, b].sort())
  })

  test("a record stamped 9999-12-31 makes no restart forget what Silver holds", async () => {
    const dir = freshDir()
    const a = uuid()
    const far = Date.parse("9999-12-31T12:00:00.000Z")
    await produce(dir, [
      { value: pageView(a, NOW), timestamp: NOW, partition: 0 },
      { value: pageView(uuid(), far), timestamp: far, partition: 0 },
    ])
    await process_(dir)
    await produce(dir, [{ value: pageView(a, NOW), timestamp: NOW, partition: 0 }])
    await process_(dir)
    expect((await silverIds(dir)).filter((id) => id === a)).toEqual([a])
  })

  test("copies of one event_id (upper and lower case) on partitions owned by different processors land once", async () => {
    const dir = freshDir()
    const shared = Array.from({ length: 20 }, () => uuid())
    const records: Array<Produced> = []
    for (const id of shared) {
      for (let copy = 0; copy < 6; copy++) {
        records.push({
          value: pageView(copy % 2 === 0 ? id : id.toUpperCase(), NOW, `s-${copy}`),
          timestamp: NOW,
          partition: copy % 3,
        })
      }
    }
    await produce(dir, records)
    // Two processors splitting the partitions, as `--workers 2` does, running at the same time.
    await Promise.all([process_(dir, { partitions: [0, 2] }), process_(dir, { partitions: [1] })])
    expect(await silverIds(dir)).toEqual([...shared].sort())
    const metrics = JSON.parse(await Bun.file(join(dir, "_metrics", "stream.json")).text())
    expect(metrics.totals.records).toBe(120)
    expect(metrics.totals.duplicates).toBe(100)
  })
})

describe("counts survive restarts", () => {
  test("totals come from the lake's commit log, over every run and worker", async () => {
    const dir = freshDir()
    const a = uuid()
    await produce(dir, [
      { value: pageView(a, NOW), timestamp: NOW, partition: 0 },
      { value: pageView(a, NOW), timestamp: NOW, partition: 0 },
      { value: "{bad", timestamp: NOW, partition: 1 },
    ])
    await process_(dir)
    await produce(dir, [
      { value: pageView(a, NOW), timestamp: NOW, partition: 2 },
      { value: pageView(uuid(), NOW), timestamp: NOW, partition: 2 },
    ])
    await process_(dir, { partitions: [2] })
    const metrics = JSON.parse(await Bun.file(join(dir, "_metrics", "stream.json")).text())
    expect(metrics.totals).toEqual({
      records: 5,
      silver: { page_view: 2 },
      duplicates: 2,
      dlq: { invalid_json: 1 },
    })
  })

  test("events.dlq holds each rejected record once after a crash between the DLQ produce and the lake commit", async () => {
    const dir = freshDir()
    await produce(dir, [
      { value: "{bad", timestamp: NOW, partition: 0 },
      { value: pageView(uuid(), NOW), timestamp: NOW, partition: 0 },
      { value: "also bad", timestamp: NOW, partition: 0 },
    ])
    const crash = new Error("crash before the lake commit")
    await expect(
      process_(
        dir,
        {},
        {
          afterRename: () => {
            throw crash
          },
        },
      ),
    ).rejects.toThrow()
    await process_(dir)
    const topic = await dlqTopic(dir)
    expect(topic.map((r) => (r.source as { offset: number }).offset)).toEqual([0, 2])
  })
})
