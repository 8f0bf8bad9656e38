import { Broker, BrokerLayers, ensurePipelineTopics, pipelineTopics } from "@shop/broker"
import { adminApiStatus, ensureTopics } from "@shop/redpanda-admin"
import { runCli } from "@shop/runtime"
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"

interface PartitionRow {
  readonly topic: string
  readonly partition: number
  readonly start: number
  readonly end: number
}
interface LagRow {
  readonly group: string
  readonly topic: string
  readonly partition: number
  readonly committed: number
  readonly end: number
  readonly lag: number
}

const describe = Effect.gen(function* () {
  const broker = yield* Broker
  const topics = yield* broker.listTopics
  const groups = yield* broker.listGroups
  const partitions: Array<PartitionRow> = []
  const lags: Array<LagRow> = []
  for (const topic of topics) {
    const ends = yield* broker.endOffsets(topic.name)
    const starts = yield* broker.startOffsets(topic.name)
    for (const e of ends) {
      const start = starts.find((s) => s.partition === e.partition)?.offset ?? 0
      partitions.push({ topic: topic.name, partition: e.partition, start, end: e.offset })
    }
    for (const group of groups) {
      const committed = yield* broker.committedOffsets(group, topic.name)
      for (const c of committed) {
        const end = ends.find((e) => e.partition === c.partition)?.offset ?? c.offset
        lags.push({ group, topic: topic.name, partition: c.partition, committed: c.offset, end, lag: end - c.offset })
      }
    }
  }
  return { topics, partitions, lags }
})

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n")
}

const command = Command.make(
  "topics",
  {
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON instead of tables"), Flag.withDefault(false)),
    ensure: Flag.Boolean("ensure").pipe(
      Flag.withDescription("Create events.raw and events.dlq if missing (topic init in production), then list"),
      Flag.withDefault(false),
    ),
    partitions: Flag.Int("partitions").pipe(
      Flag.withDescription("Partitions of events.raw when --ensure creates it"),
      Flag.withDefault(3),
    ),
  },
  Effect.fn(function* ({ json, ensure, partitions: rawPartitions }) {
    const kafka = process.env.KAFKA_BROKERS?.split(",").filter((b) => b !== "") ?? []
    const adminUrl = process.env.REDPANDA_ADMIN_URL
    if (adminUrl !== undefined) {
      const { ready, health } = yield* adminApiStatus(adminUrl)
      yield* Console.log(
        `redpanda: ${ready ? "ready" : "not ready"}, ${health.is_healthy ? "healthy" : "UNHEALTHY"}; nodes ${health.all_nodes.join(",")}, down [${health.nodes_down.join(",")}], leaderless partitions ${health.leaderless_partitions.length}`,
      )
    }
    if (ensure && kafka.length > 0) {
      // On Kafka/Redpanda through the admin protocol, with the configs the Kafka layer gives the topics it creates
      // (one definition: pipelineTopics); an existing topic is checked, not changed.
      for (const t of yield* ensureTopics(kafka, pipelineTopics(rawPartitions))) {
        yield* Console.log(
          `${t.name}: ${t.partitions} partitions, retention.ms ${t.retentionMs ?? "default"}, max.message.bytes ${t.maxMessageBytes ?? "default"}${t.problems.length === 0 ? "" : ` (differs from the plan: ${t.problems.join("; ")})`}`,
        )
      }
    } else if (ensure) {
      // events.raw with the asked partitions; an existing topic is left as it is.
      yield* ensurePipelineTopics(rawPartitions)
    }
    const { topics, partitions, lags } = yield* describe
    if (json) return yield* Console.log(JSON.stringify({ topics, partitions, lags }, null, 2))
    if (topics.length === 0) return yield* Console.log("no topics yet (run `bun run generate` or `bun run dev`)")
    yield* Console.log(
      table(
        ["TOPIC", "PARTITION", "START", "END", "RECORDS"],
        partitions.map((p) => [p.topic, p.partition, p.start, p.end, p.end - p.start]),
      ),
    )
    if (lags.length > 0) {
      yield* Console.log("")
      yield* Console.log(
        table(
          ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"],
          lags.map((l) => [l.group, l.topic, l.partition, l.committed, l.end, l.lag]),
        ),
      )
    }
  }),
).pipe(Command.withDescription("Topics, partitions, end offsets and consumer-group lag"))

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
