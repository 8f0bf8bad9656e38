import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt, type ProducerRecord } from "@shop/broker"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { type Figure, peakRssMb, percentile, report } from "./report.ts"

interface Scenario {
  readonly label: string
  readonly partitions: number
  /** Distinct keys cycled over the records (1: everything on one partition). */
  readonly keys: number
}

// One partition with one key is the log at its simplest; three partitions keyed by session ids is events.raw.
const SCENARIOS: ReadonlyArray<Scenario> = [
  { label: "1 partition", partitions: 1, keys: 1 },
  { label: "3 partitions, 10k keys", partitions: 3, keys: 10_000 },
]

const encoder = new TextEncoder()
const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6

/** Produces `records` values of `size` bytes in batches of `batch`, then reads them all back as one member. */
const runScenario = (scenario: Scenario, records: number, size: number, batch: number) =>
  Effect.gen(function* () {
    const broker = yield* Broker
    const topic = `bench-${scenario.partitions}`
    yield* broker.createTopic({ name: topic, partitions: scenario.partitions })
    // Distinct values and keys, as real events are; built before timing starts.
    const base = "x".repeat(size)
    const batchRecords: Array<ProducerRecord> = Array.from({ length: batch }, (_, i) => {
      const value = encoder.encode(base)
      value.set(encoder.encode(String(i)), 0)
      return { key: `session-${i % scenario.keys}`, value, timestamp: 1_700_000_000_000 + i }
    })
    const latencies: Array<number> = []
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let sent = 0; sent < records; sent += batch) {
      const n = Math.min(batch, records - sent)
      const t = performance.now()
      yield* broker.produce(topic, n === batch ? batchRecords : batchRecords.slice(0, n))
      latencies.push(performance.now() - t)
    }
    const produceSeconds = (performance.now() - t0) / 1000
    const produceCpu = cpuSeconds(process.cpuUsage(cpu0))

    const consumer = yield* broker.consumer({ groupId: `bench-${topic}`, topics: [topic], fromBeginning: true })
    const cpu1 = process.cpuUsage()
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
    const consumeCpu = cpuSeconds(process.cpuUsage(cpu1))
    if (read !== records || bytes !== records * size) {
      return yield* Effect.die(new Error(`read back ${read} records / ${bytes} bytes, expected ${records}`))
    }
    latencies.sort((a, b) => a - b)
    const mb = (records * size) / 1e6
    const name = (what: string) => `${scenario.label}: ${what}`
    return [
      { name: name("produce"), value: records / produceSeconds, unit: "records/s" },
      { name: name("produce"), value: mb / produceSeconds, unit: "MB/s" },
      // Per CPU-second (user + system): what one core does when the disk is not the limit.
      { name: name("produce per CPU-second"), value: records / produceCpu, unit: "records" },
      { name: name("produce batch p50"), value: percentile(latencies, 50), unit: "ms" },
      { name: name("produce batch p99"), value: percentile(latencies, 99), unit: "ms" },
      { name: name("consume"), value: records / consumeSeconds, unit: "records/s" },
      { name: name("consume"), value: mb / consumeSeconds, unit: "MB/s" },
      { name: name("consume per CPU-second"), value: records / consumeCpu, unit: "records" },
    ] satisfies Array<Figure>
  })

/** Embedded broker produce and consume throughput, one process (one core), fsync on every produce call. */
export const brokerBench = Command.make(
  "broker",
  {
    records: Flag.Int("records").pipe(Flag.withDescription("Records per scenario"), Flag.withDefault(1_000_000)),
    size: Flag.Int("size").pipe(Flag.withDescription("Record value bytes"), Flag.withDefault(500)),
    batch: Flag.Int("batch").pipe(Flag.withDescription("Records per produce call"), Flag.withDefault(10_000)),
  },
  ({ records, size, batch }) =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "bench-broker-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const figures: Array<Figure> = []
      for (const scenario of SCENARIOS) {
        figures.push(...(yield* runScenario(scenario, records, size, batch).pipe(Effect.provide(layerEmbeddedAt(dir)))))
      }
      figures.push({ name: "peak RSS", value: peakRssMb(), unit: "MB" })
      report("broker", figures, {
        records,
        size,
        batch,
        fsync: "one fdatasync per partition per produce call",
        scenarios: SCENARIOS,
      })
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Embedded broker produce/consume throughput (target: 300k records/s each)"))
