import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt } from "@shop/broker"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { peakRssMb, percentile, report } from "./report.ts"

/** Embedded broker produce and consume throughput, one process (one core), fsync on every batch. */
export const brokerBench = Command.make(
  "broker",
  {
    records: Flag.Int("records").pipe(Flag.withDescription("Records to produce"), Flag.withDefault(1_000_000)),
    size: Flag.Int("size").pipe(Flag.withDescription("Record value bytes"), Flag.withDefault(500)),
    batch: Flag.Int("batch").pipe(Flag.withDescription("Records per produce call"), Flag.withDefault(10_000)),
  },
  ({ records, size, batch }) =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "bench-broker-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const figures = yield* Effect.gen(function* () {
        const broker = yield* Broker
        yield* broker.createTopic({ name: "bench", partitions: 1 })
        // Distinct values, as real events are; built before timing starts.
        const base = "x".repeat(size)
        const values = Array.from({ length: batch }, (_, i) => {
          const v = new TextEncoder().encode(base)
          v.set(new TextEncoder().encode(String(i)), 0)
          return v
        })
        const batchRecords = values.map((value) => ({ key: "session-1", value, timestamp: 1_700_000_000_000 }))
        const latencies: Array<number> = []
        const t0 = performance.now()
        for (let sent = 0; sent < records; sent += batch) {
          const n = Math.min(batch, records - sent)
          const t = performance.now()
          yield* broker.produce("bench", n === batch ? batchRecords : batchRecords.slice(0, n))
          latencies.push(performance.now() - t)
        }
        const produceSeconds = (performance.now() - t0) / 1000

        const consumer = yield* broker.consumer({ groupId: "bench", topics: ["bench"], fromBeginning: true })
        const t1 = performance.now()
        let read = 0
        let bytes = 0
        while (read < records) {
          const got = yield* consumer.poll({ maxRecords: batch, maxWaitMs: 100 })
          if (got.length === 0) break
          read += got.length
          for (const r of got) bytes += r.value.length
        }
        const consumeSeconds = (performance.now() - t1) / 1000
        if (read !== records || bytes !== records * size) {
          return yield* Effect.die(new Error(`read back ${read} records / ${bytes} bytes, expected ${records}`))
        }
        latencies.sort((a, b) => a - b)
        const mb = (records * size) / 1e6
        return [
          { name: "produce", value: records / produceSeconds, unit: "records/s" },
          { name: "produce", value: mb / produceSeconds, unit: "MB/s" },
          { name: "produce batch p50", value: percentile(latencies, 50), unit: "ms" },
          { name: "produce batch p99", value: percentile(latencies, 99), unit: "ms" },
          { name: "consume", value: records / consumeSeconds, unit: "records/s" },
          { name: "consume", value: mb / consumeSeconds, unit: "MB/s" },
          { name: "peak RSS", value: peakRssMb(), unit: "MB" },
        ]
      }).pipe(Effect.provide(layerEmbeddedAt(dir)))
      report("broker", figures, { records, size, batch, fsync: "every produce call", partitions: 1 })
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Embedded broker produce/consume throughput (target: 300k records/s each)"))
