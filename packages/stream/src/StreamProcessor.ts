import { rmSync } from "node:fs"
import { join } from "node:path"
import { Broker, type BrokerError, type ConsumedRecord, ensureDefaultTopics } from "@shop/broker"
import { type DlqRecord, TOPIC_DLQ, TOPIC_RAW, type ValidateOptions } from "@shop/contract"
import { Lake, type LakeError } from "@shop/lake"
import { Effect } from "effect"
import { Deduplicator } from "./Deduplicator.ts"
import { routeBatch } from "./routeBatch.ts"
import { NotCaughtUp, RecordsLost, type StreamError } from "./StreamErrors.ts"
import { StreamMetrics } from "./StreamMetrics.ts"
import { seedDeduplicator } from "./seedDeduplicator.ts"

export interface StreamOptions {
  /** Process what `events.raw` holds now, then return; otherwise run until interrupted. */
  readonly availableNow: boolean
  readonly groupId?: string
  /** Own only these partitions of events.raw (several processes splitting a topic); default all. */
  readonly partitions?: ReadonlyArray<number>
  /** Micro-batch bounds: whichever comes first. */
  readonly maxBatchRecords?: number
  readonly maxBatchMs?: number
  readonly validate?: ValidateOptions
  /** Where the metrics JSON goes (default `<lake root>/_metrics/stream.json`). */
  readonly metricsPath?: string
  readonly log?: (line: string) => void
  /** The processor's counters; pass one to expose it (e.g. on a Prometheus endpoint) while it runs. */
  readonly metrics?: StreamMetrics
  /** Called after each committed batch (tests, the dev supervisor). */
  readonly onBatch?: (metrics: StreamMetrics) => void
}

const encoder = new TextEncoder()
/** events.dlq records stay well under the broker's record limit; the full payload is always in bronze. */
const DLQ_TOPIC_PAYLOAD_CHARS = 256 * 1024

const dlqTopicValue = (d: DlqRecord): Uint8Array => {
  if (d.payload.length <= DLQ_TOPIC_PAYLOAD_CHARS && (d.payload_base64?.length ?? 0) <= DLQ_TOPIC_PAYLOAD_CHARS) {
    return encoder.encode(JSON.stringify(d))
  }
  const { payload_base64: _, ...rest } = d
  return encoder.encode(
    JSON.stringify({
      ...rest,
      payload: d.payload.slice(0, DLQ_TOPIC_PAYLOAD_CHARS),
      payload_truncated: { original_chars: d.payload.length, full_copy: "bronze/events and bronze/dlq in the lake" },
    }),
  )
}

/**
 * events.raw -> Bronze, Silver and events.dlq, exactly once into the lake. Per source partition and
 * micro-batch: route every record, send rejects to events.dlq, commit the files to the lake (the commit log
 * append is the commit point), then commit the broker offsets. On start it resumes from the lake's commit
 * log, not the broker's group offsets, after removing what a crash left uncommitted.
 */
export const runStreamProcessor = (options: StreamOptions) =>
  Effect.gen(function* () {
    const broker = yield* Broker
    const lake = yield* Lake
    const prefix = options.partitions === undefined ? "[stream]" : `[stream ${options.partitions.join(",")}]`
    const write = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
    const log = (line: string) => write(line.replace("[stream]", prefix))
    const groupId = options.groupId ?? "stream-processor"
    const maxBatchRecords = options.maxBatchRecords ?? 10_000
    const maxBatchMs = options.maxBatchMs ?? 500
    const metricsPath = options.metricsPath ?? join(lake.root, "_metrics", "stream.json")
    const metrics = options.metrics ?? new StreamMetrics()
    // Ids beyond half a million spill to sorted run files with Bloom filters (bounded memory); a cache of Silver,
    // rebuilt at every start, in a directory per partition set (each set has one owner at a time).
    const spillDir = join(
      lake.root,
      "_dedup",
      options.partitions === undefined ? "all" : `p${[...options.partitions].sort((a, b) => a - b).join("-")}`,
    )
    rmSync(spillDir, { recursive: true, force: true })
    const dedup = yield* Effect.acquireRelease(
      Effect.sync(() => new Deduplicator(options.validate?.maxLatenessMs, { spillDir })),
      (d) => Effect.sync(() => d.close()),
    )

    yield* ensureDefaultTopics
    const consumer = yield* broker.consumer({
      groupId,
      topics: [TOPIC_RAW],
      fromBeginning: true,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    })

    // Resume from the lake: its commit log alone decides where a partition starts (a partition it never saw:
    // offset 0), whatever the group's committed offsets say. The embedded broker assigns every partition at once;
    // on Kafka the first poll may come before the group settles, so partitions are also taken on when first seen.
    // With --available-now each owned partition gets its target: the end offset when it was taken on.
    const owned = new Set<number>()
    const positions = new Map<number, number>()
    const targets = options.availableNow ? new Map<number, number>() : undefined
    const takeOn = Effect.fn("StreamProcessor.takeOn")(function* (partitions: ReadonlyArray<number>) {
      const fresh = partitions.filter((p) => !owned.has(p))
      if (fresh.length === 0) return fresh
      const report = yield* lake.recover(TOPIC_RAW, fresh)
      const committed = yield* lake.committedOffsets(TOPIC_RAW)
      const starts = yield* broker.startOffsets(TOPIC_RAW)
      const ends = targets === undefined ? [] : yield* broker.endOffsets(TOPIC_RAW)
      let newest = 0
      for (const p of fresh) {
        const c = committed.find((o) => o.partition === p)
        const offset = c?.offset ?? 0
        const start = starts.find((s) => s.partition === p)?.offset ?? 0
        if (start > offset) {
          return yield* new RecordsLost({
            topic: TOPIC_RAW,
            partition: p,
            message: `${TOPIC_RAW}/${p}: the lake's commit log resumes at offset ${offset} but the broker keeps offsets from ${start} on: ${start - offset} records were deleted (retention, a recreated topic) before the lake got them`,
          })
        }
        if (targets !== undefined) {
          const end = ends.find((e) => e.partition === p)
          if (end === undefined) {
            return yield* new NotCaughtUp({ message: `${TOPIC_RAW}/${p}: the broker gave no end offset for it` })
          }
          targets.set(p, end.offset)
        }
        newest = Math.max(newest, c?.maxRecordTs ?? 0)
        yield* consumer.seek({ topic: TOPIC_RAW, partition: p, offset })
        positions.set(p, offset)
        owned.add(p)
      }
      const ids = newest > 0 ? yield* seedDeduplicator(lake, dedup, TOPIC_RAW, fresh, newest) : 0
      log(
        `[stream] partitions ${fresh.join(",")}: resuming at ${fresh.map((p) => positions.get(p)).join(",")} from the lake's commit log` +
          `${targets === undefined ? "" : ` (end offsets ${fresh.map((p) => targets.get(p)).join(",")})`}` +
          ` (removed ${report.orphansRemoved} uncommitted files, ${report.tempFilesRemoved} temp files; ${ids} event_ids remembered)`,
      )
      return fresh
    })
    yield* takeOn((yield* consumer.assignment).map((a) => a.partition))
    if (targets !== undefined && owned.size === 0) {
      return yield* new NotCaughtUp({
        message: `--available-now: group ${groupId} gave this member no partition of ${TOPIC_RAW}${options.partitions === undefined ? "" : ` (asked for ${options.partitions.join(",")})`}, so there is nothing it could catch up on`,
      })
    }
    // Caught up: every owned partition read to the end offset it had when taken on.
    const done = () =>
      targets !== undefined &&
      owned.size > 0 &&
      [...owned].every((p) => targets.has(p) && (positions.get(p) ?? 0) >= targets.get(p)!)

    const commitPartition = Effect.fn("StreamProcessor.commitPartition")(function* (
      partition: number,
      records: ReadonlyArray<ConsumedRecord>,
    ) {
      const now = Date.now()
      const routed = routeBatch(records, dedup, options.validate ?? {}, now)
      if (routed.dlq.length > 0) {
        // At least once on the topic (a crash before the lake commit repeats it); exactly once in bronze/dlq.
        yield* broker.produce(
          TOPIC_DLQ,
          routed.dlq.map((d) => ({
            key: `${d.source.topic}:${d.source.partition}:${d.source.offset}`,
            value: dlqTopicValue(d),
          })),
        )
      }
      const first = records[0]!.offset
      const last = records.at(-1)!.offset
      yield* lake.commitBatch({
        topic: TOPIC_RAW,
        partition,
        fromOffset: first,
        toOffset: last,
        maxRecordTs: records.reduce((m, r) => Math.max(m, r.timestamp), 0),
        tables: routed.tables,
      })
      for (const [id, date] of routed.newIds) dedup.add(id, date)
      dedup.advance(records.at(-1)!.timestamp)
      positions.set(partition, last + 1)
      yield* consumer.commit([{ topic: TOPIC_RAW, partition, offset: last + 1 }])
      metrics.addBatch(routed.counts)
      if (routed.newestEventTs !== null && (metrics.newestEventTs ?? 0) < routed.newestEventTs) {
        metrics.newestEventTs = routed.newestEventTs
      }
    })

    let lastLag = 0
    let lastLog = Date.now()
    const refreshLag = Effect.fn("StreamProcessor.refreshLag")(function* (force: boolean) {
      if (!force && Date.now() - lastLag < 1_000) return
      lastLag = Date.now()
      const ends = yield* broker.endOffsets(TOPIC_RAW)
      metrics.partitions = ends
        .filter((e) => owned.has(e.partition))
        .map((e) => {
          const committed = positions.get(e.partition) ?? 0
          return { partition: e.partition, committed, end: e.offset, lag: Math.max(0, e.offset - committed) }
        })
    })

    while (!done()) {
      const started = Date.now()
      const batch: Array<ConsumedRecord> = []
      // Poll until the batch is full or its time is up; an empty poll means nothing more came in time.
      while (batch.length < maxBatchRecords) {
        const remaining = Math.max(0, maxBatchMs - (Date.now() - started))
        const got = yield* consumer.poll({ maxRecords: maxBatchRecords - batch.length, maxWaitMs: remaining })
        batch.push(...got)
        if (got.length === 0 || remaining === 0) break
      }
      if (batch.length === 0) {
        yield* refreshLag(false)
        if (done()) break
        continue
      }
      const t0 = performance.now()
      const byPartition = new Map<number, Array<ConsumedRecord>>()
      for (const r of batch) {
        const list = byPartition.get(r.partition)
        if (list === undefined) byPartition.set(r.partition, [r])
        else list.push(r)
      }
      const takenOn = yield* takeOn([...byPartition.keys()])
      for (const [partition, records] of byPartition) {
        // Fetched before the seek to the lake's position: they come again from there.
        if (takenOn.includes(partition)) continue
        // A record below the lake's position was committed already (e.g. redelivered after a rebalance).
        const fresh = records.filter((r) => r.offset >= (positions.get(partition) ?? 0))
        if (fresh.length > 0) yield* commitPartition(partition, fresh)
      }
      metrics.batchDone(performance.now() - t0)
      metrics.dedupIds = dedup.size
      yield* refreshLag(false)
      metrics.writeTo(metricsPath)
      options.onBatch?.(metrics)
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now()
        log(`[stream] ${metrics.summary()}`)
      }
    }
    yield* refreshLag(true)
    metrics.writeTo(metricsPath)
    log(`[stream] ${options.availableNow ? "caught up" : "stopped"}: ${metrics.summary()}`)
    return metrics.snapshot()
  }).pipe(Effect.scoped) as Effect.Effect<
    ReturnType<StreamMetrics["snapshot"]>,
    BrokerError | LakeError | StreamError,
    Broker | Lake
  >
