/**
 * The pipeline on a real Apache Kafka (infra/kafka-local): a broker restart in the middle of a run, and kcat
 * as an outside client on both ends. Runs only when KAFKA_BROKERS is set (CI's Kafka step); each spec starts
 * from fresh events.raw / events.dlq topics and its own lake directory.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Broker, deleteKafkaTopics, ensureDefaultTopics, layerKafkaWith, partitionForKey } from "@shop/broker"
import { type DlqRecord, TOPIC_DLQ, TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream, sumDlq } from "@shop/generator"
import { Lake } from "@shop/lake"
import { collectLogs } from "@shop/runtime"
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"
import { duckdb, expectSilverMatches } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const kafka = process.env.KAFKA_BROKERS ? process.env.KAFKA_BROKERS.split(",") : undefined
const repo = resolve(import.meta.dir, "../../..")
const kafkaLocal = join(repo, "infra/kafka-local")
const localPidFile = join(process.env.KAFKA_LOCAL_DATA_DIR ?? join(kafkaLocal, "data"), "kafka.pid")

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "stream-kafka-"))
  dirs.push(d)
  return d
}
const layersAt = (dir: string) => Layer.mergeAll(layerKafkaWith({ brokers: kafka ?? [] }), Lake.layerAt(dir))

const freshTopics = Effect.gen(function* () {
  yield* deleteKafkaTopics(kafka ?? [], [TOPIC_RAW, TOPIC_DLQ])
  yield* ensureDefaultTopics
})

describe.skipIf(kafka === undefined)("stream processor on Apache Kafka", () => {
  // Restarting needs the broker to be ours: infra/kafka-local started it (its pid file is there).
  // The processor rides out the restart (untilBrokerBack): a broker call that met the broker away used to kill it
  // after kafkajs' ~30 s of retries, i.e. whenever the restart took longer (a loaded machine).
  test.skipIf(!existsSync(localPidFile))(
    "a broker restart in the middle of a run: nothing lost or duplicated in Silver, nothing twice on events.raw",
    async () => {
      const dir = tempDir()
      const N = 60_000
      const BATCH = 2_000
      const stats = emptyStats()
      const stream = makeEventStream(
        {
          seed: 23,
          start: Date.parse("2026-11-12T00:00:00Z"),
          eps: 4,
          badRate: 0.03,
          dupRate: 0.03,
          lateRate: 0.02,
          seasonality: true,
        },
        stats,
      )
      let processed = 0
      let processedAtRestart = -1
      let restartExit = null as number | null
      let restartOutput = ""
      const logs: Array<string> = []
      await Effect.runPromise(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* freshTopics
          const processor = yield* Effect.forkChild(
            runStreamProcessor({
              availableNow: false,
              groupId: `restart-${Date.now()}`,
              maxBatchMs: 200,
              onBatch: (m) => {
                processed = m.recordsIn
              },
            }).pipe(Effect.provide(collectLogs(logs))),
          )
          let restart: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined
          for (let produced = 0; produced < N; produced += BATCH) {
            const batch: Array<GeneratedRecord> = []
            while (batch.length < BATCH) batch.push(stream.next().value as GeneratedRecord)
            // Produces straight through the restart: kafkajs retries until the broker is back.
            yield* broker.produce(TOPIC_RAW, batch)
            if (produced === BATCH * 8) {
              // Let the processor get going, then restart the broker under it while production goes on.
              const deadline = Date.now() + 60_000
              while (processed === 0 && Date.now() < deadline) yield* Effect.sleep("50 millis")
              processedAtRestart = processed
              restart = Bun.spawn([join(kafkaLocal, "restart")], { stdout: "pipe", stderr: "pipe" })
            }
          }
          if (restart !== undefined) {
            restartExit = yield* Effect.promise(() => restart!.exited)
            restartOutput = yield* Effect.promise(() => new Response(restart!.stderr).text())
          }
          const deadline = Date.now() + 180_000
          while (processed < N && Date.now() < deadline && processor.pollUnsafe() === undefined)
            yield* Effect.sleep("100 millis")
          // A processor that stopped (or is stuck) says why: its exit and its last log lines.
          const exit = processor.pollUnsafe()
          if (exit !== undefined || processed < N)
            throw new Error(
              `processor at ${processed} of ${N} records, ${exit === undefined ? "still running" : `exited: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "success"}`}; last log lines:\n${logs.slice(-30).join("\n")}`,
            )
          yield* Fiber.interrupt(processor)
          const ends = yield* broker.endOffsets(TOPIC_RAW)
          // The idempotent producer retried across the restart without writing any record twice.
          expect(ends.reduce((s, e) => s + e.offset, 0)).toBe(N)
        }).pipe(Effect.provide(layersAt(dir))),
      )
      if (restartExit !== 0) throw new Error(`infra/kafka-local/restart failed (${restartExit}): ${restartOutput}`)
      expect(restartOutput).toContain("stopping Apache Kafka")
      expect(processedAtRestart).toBeGreaterThan(0)
      expect(processedAtRestart).toBeLessThan(N)
      expect(processed).toBe(N)

      const db = await duckdb(dir)
      try {
        await expectSilverMatches(db, stats)
        expect(await db.count("bronze/events")).toBe(N)
        expect(await db.count("bronze/dlq")).toBe(sumDlq(stats))
      } finally {
        db.close()
      }
    },
    300_000,
  )

  test("a fresh lake on a topic the group has consumed rebuilds everything, with 1 and 2 workers (the lake's commit log decides, not the group's offsets)", async () => {
    const stats = emptyStats()
    const stream = makeEventStream(
      {
        seed: 41,
        start: Date.parse("2026-11-14T00:00:00Z"),
        eps: 5,
        badRate: 0.02,
        dupRate: 0.02,
        lateRate: 0,
        seasonality: false,
      },
      stats,
    )
    const N = 12_000
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* freshTopics
        const broker = yield* Broker
        for (let sent = 0; sent < N; sent += 2_000) {
          const batch: Array<GeneratedRecord> = []
          while (batch.length < 2_000) batch.push(stream.next().value as GeneratedRecord)
          yield* broker.produce(TOPIC_RAW, batch)
        }
      }).pipe(Effect.provide(layerKafkaWith({ brokers: kafka ?? [] }))),
    )
    // The events are stamped with their (past) event time, as a backfill is. The pipeline as users run it, under
    // its default group (stream-processor), each time on a new DATA_DIR: the first run commits the group's
    // offsets at the end of every partition; the others must still read everything.
    const pipeline = (dataDir: string, workers: number) => {
      const proc = Bun.spawnSync(
        ["bun", join(repo, "apps/stream/src/main.ts"), "--available-now", "--workers", String(workers)],
        {
          env: { ...process.env, DATA_DIR: dataDir, KAFKA_BROKERS: (kafka ?? []).join(","), METRICS_PORT: "0" },
          stdout: "pipe",
          stderr: "pipe",
          timeout: 180_000,
        },
      )
      const output = proc.stderr.toString() + proc.stdout.toString()
      if (proc.exitCode !== 0) throw new Error(`pipeline --workers ${workers} exited ${proc.exitCode}: ${output}`)
      return output
    }
    for (const workers of [1, 1, 2]) {
      const dir = tempDir()
      const output = pipeline(dir, workers)
      const db = await duckdb(dir)
      try {
        expect({ workers, bronze: await db.count("bronze/events") }).toEqual({ workers, bronze: N })
        await expectSilverMatches(db, stats)
      } catch (e) {
        throw new Error(`a fresh lake with ${workers} worker(s) did not rebuild everything: ${e}\n${output}`)
      } finally {
        db.close()
      }
    }
  }, 300_000)

  test("kcat as an outside client: produces into events.raw, reads events.dlq after the pipeline ran", async () => {
    const dir = tempDir()
    const stats = emptyStats()
    // kcat stamps records with the time it sends them, so the simulated events are set around now.
    const stream = makeEventStream(
      { seed: 31, start: Date.now() - 300_000, eps: 10, badRate: 0.08, dupRate: 0.03, lateRate: 0, seasonality: false },
      stats,
    )
    const records: Array<GeneratedRecord> = []
    while (records.length < 3_000) records.push(stream.next().value as GeneratedRecord)
    // Key and record separated by 0x1f, records by 0x1e: payloads of bad records may hold any text.
    const file = join(dir, "events.kcat")
    writeFileSync(file, records.map((r) => `${r.key ?? ""}\x1f${r.value}`).join("\x1e"))
    await Effect.runPromise(freshTopics.pipe(Effect.provide(layerKafkaWith({ brokers: kafka ?? [] }))))

    const kcat = (args: Array<string>) => {
      const proc = Bun.spawnSync(["/usr/bin/kcat", "-b", (kafka ?? []).join(","), ...args])
      if (proc.exitCode !== 0) throw new Error(`kcat ${args.join(" ")} failed: ${proc.stderr.toString()}`)
      return proc.stdout.toString()
    }
    // murmur2_random is Kafka's own partitioner (librdkafka's default is CRC32): same key, same partition.
    kcat(["-P", "-t", TOPIC_RAW, "-K", "\\x1f", "-D", "\\x1e", "-X", "partitioner=murmur2_random", "-l", file])

    const summary = await Effect.runPromise(
      runStreamProcessor({ availableNow: true, groupId: `kcat-${Date.now()}` }).pipe(Effect.provide(layersAt(dir))),
    )
    expect(summary.recordsIn).toBe(records.length)

    const lines = kcat(["-C", "-t", TOPIC_DLQ, "-o", "beginning", "-e", "-J", "-q"])
      .split("\n")
      .filter((l) => l.trim() !== "")
    const dlq = lines.map((l) => JSON.parse(JSON.parse(l).payload as string) as DlqRecord)
    expect(dlq.length).toBe(sumDlq(stats))
    expect(dlq.length).toBeGreaterThan(100)
    // Each reject is one record kcat sent, byte for byte, with the reason the generator made it fail for.
    const sent = new Map<string, Array<GeneratedRecord>>()
    for (const r of records) sent.set(r.value, [...(sent.get(r.value) ?? []), r])
    for (const d of dlq) {
      const original = sent.get(d.payload)?.shift()
      expect(original).toBeDefined()
      expect({ dlq: d.error.code }).toEqual(original!.expected as never)
      expect(d.source.topic).toBe(TOPIC_RAW)
      if (original!.key !== null) expect(d.source.partition).toBe(partitionForKey(original!.key, 3))
    }
    const db = await duckdb(dir)
    try {
      await expectSilverMatches(db, stats)
    } finally {
      db.close()
    }
  }, 120_000)
})
