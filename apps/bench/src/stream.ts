import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW, validate } from "@shop/contract"
import { type GeneratedRecord, makeEventStream } from "@shop/generator"
import { encodeParquet } from "@shop/lake"
import { Deduplicator, routeBatch } from "@shop/stream"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { type Figure, report } from "./report.ts"

const rate = (n: number, ms: number) => n / (ms / 1000)
const STREAM_MAIN = resolve(import.meta.dir, "../../stream/src/main.ts")

/** Splits partitions round-robin over workers, as `bun run pipeline --workers N` does. */
const shares = (partitions: number, workers: number) =>
  Array.from({ length: Math.min(workers, partitions) }, (_, w) =>
    Array.from({ length: partitions }, (_, p) => p).filter((p) => p % workers === w),
  )

/** Runs `bun run pipeline --available-now` as N worker processes over one broker; wall time and peak RSS. */
const runPipeline = async (root: string, brokerDir: string, workers: number, partitions: number, batch: number) => {
  const dataDir = join(root, `lake-${workers}w`)
  mkdirSync(dataDir, { recursive: true })
  symlinkSync(brokerDir, join(dataDir, "broker"))
  const t0 = performance.now()
  const children = shares(partitions, workers).map((share) =>
    Bun.spawn(
      ["bun", STREAM_MAIN, "--available-now", "--partitions", share.join(","), "--batch-records", String(batch)],
      { env: { ...process.env, DATA_DIR: dataDir }, stdout: "ignore", stderr: "pipe" },
    ),
  )
  const codes = await Promise.all(children.map((c) => c.exited))
  const ms = performance.now() - t0
  if (codes.some((c) => c !== 0)) {
    throw new Error(
      `pipeline worker failed: ${await new Response(children[codes.findIndex((c) => c !== 0)]!.stderr).text()}`,
    )
  }
  // A child's maxRSS is reported in bytes (the process's own, in KB).
  const rss = Math.max(...children.map((c) => (c.resourceUsage()?.maxRSS ?? 0) / 1024 / 1024))
  return { ms, rss }
}

/**
 * Sustained events/s from the embedded broker into committed Bronze + Silver: the real pipeline processes
 * (poll, validate, dedup, Parquet, fsync, commit), with 1 and with N worker processes over the same events,
 * plus each stage alone and the raw JSON.parse rate of the same events, to show what bounds it.
 */
export const streamBench = Command.make(
  "stream",
  {
    events: Flag.Int("events").pipe(Flag.withDescription("Events to process"), Flag.withDefault(600_000)),
    partitions: Flag.Int("partitions").pipe(Flag.withDescription("Partitions of events.raw"), Flag.withDefault(6)),
    workers: Flag.Int("workers").pipe(Flag.withDescription("Worker processes for the scaled run"), Flag.withDefault(2)),
    batch: Flag.Int("batch").pipe(Flag.withDescription("Micro-batch size bound"), Flag.withDefault(50_000)),
  },
  ({ events, partitions, workers, batch }) =>
    Effect.gen(function* () {
      const root = mkdtempSync(join(tmpdir(), "bench-stream-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(root, { recursive: true, force: true })))
      const brokerDir = join(root, "broker")
      process.stderr.write(`producing ${events} generated events into ${partitions} partitions (not timed)...\n`)
      const stream = makeEventStream({
        seed: 1,
        start: Date.parse("2026-11-01T00:00:00Z"),
        eps: 20,
        badRate: 0.01,
        dupRate: 0.01,
        lateRate: 0.01,
        seasonality: true,
      })
      const sample: Array<GeneratedRecord> = []
      let bytes = 0
      yield* Effect.gen(function* () {
        const broker = yield* Broker
        yield* broker.createTopic({ name: TOPIC_RAW, partitions })
        yield* ensureDefaultTopics
        for (let sent = 0; sent < events; ) {
          const chunk: Array<GeneratedRecord> = []
          while (chunk.length < 10_000 && sent + chunk.length < events)
            chunk.push(stream.next().value as GeneratedRecord)
          for (const r of chunk) bytes += Buffer.byteLength(r.value)
          if (sample.length < 100_000) sample.push(...chunk)
          yield* broker.produce(TOPIC_RAW, chunk)
          sent += chunk.length
        }
      }).pipe(Effect.provide(layerEmbeddedAt(brokerDir)))

      const figures: Array<Figure> = []
      for (const w of [1, workers]) {
        process.stderr.write(`pipeline with ${w} worker process(es)...\n`)
        const run = yield* Effect.promise(() => runPipeline(root, brokerDir, w, partitions, batch))
        figures.push(
          { name: `pipeline, ${w} worker(s)`, value: rate(events, run.ms), unit: "events/s" },
          { name: `pipeline, ${w} worker(s)`, value: bytes / 1e6 / (run.ms / 1000), unit: "MB/s of JSON" },
          { name: `pipeline, ${w} worker(s): peak RSS per process`, value: run.rss, unit: "MB" },
        )
      }

      // Each stage alone on a sample of the same events, for scale.
      const encoded = sample.map((r) => new TextEncoder().encode(r.value))
      const decoder = new TextDecoder()
      let t = performance.now()
      for (const v of encoded) {
        try {
          JSON.parse(decoder.decode(v))
        } catch {
          // An injected bad record: parsing it is part of the work.
        }
      }
      const parse = performance.now() - t
      t = performance.now()
      for (let i = 0; i < encoded.length; i++) validate({ value: encoded[i]!, timestamp: sample[i]!.timestamp })
      const validating = performance.now() - t
      const consumed = encoded.map((value, i) => ({
        topic: TOPIC_RAW,
        partition: 0,
        offset: i,
        key: sample[i]!.key,
        value,
        timestamp: sample[i]!.timestamp,
      }))
      t = performance.now()
      const routed = routeBatch(consumed, new Deduplicator(), {}, Date.now())
      const routing = performance.now() - t
      t = performance.now()
      for (const table of routed.tables) {
        for (const rows of table.partitions.values()) encodeParquet(table.schema, rows, { statistics: false })
      }
      const parquet = performance.now() - t
      figures.push(
        { name: "stage alone: JSON.parse", value: rate(sample.length, parse), unit: "events/s" },
        { name: "stage alone: validate()", value: rate(sample.length, validating), unit: "events/s" },
        { name: "stage alone: route (validate, dedup, rows)", value: rate(sample.length, routing), unit: "events/s" },
        {
          name: "stage alone: Parquet encode (hyparquet-writer)",
          value: rate(sample.length, parquet),
          unit: "events/s",
        },
      )
      report("stream", figures, {
        events,
        partitions,
        workers,
        batch,
        broker: "embedded",
        cores: navigator.hardwareConcurrency,
        avgEventBytes: Math.round(bytes / events),
      })
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Stream processor throughput into committed Bronze + Silver (target: 100k events/s)"))
