import { rmSync } from "node:fs"
import { join } from "node:path"
import { Broker, type BrokerError, type ConsumedRecord, ensureDefaultTopics } from "@shop/broker"
import { type DlqError, type DlqRecord, TOPIC_DLQ, TOPIC_RAW, type ValidateOptions } from "@shop/contract"
import { Lake, type LakeError, type Row, type StagedBatch } from "@shop/lake"
import { RequireKeyedOrders } from "@shop/runtime"
import { Clock, Effect, Result } from "effect"
import { Deduplicator } from "./Deduplicator.ts"
import { DlqOutbox, dlqKey, dlqTopicValue } from "./DlqOutbox.ts"
import { eventDatesOf, type JudgedRecord, judgeBatch, type RoutedBatch, routeBatch } from "./routeBatch.ts"
import { SessionActivity } from "./SessionActivity.ts"
import { SilverIds } from "./SilverIds.ts"
import { NotCaughtUp, RecordsLost, type StreamError } from "./StreamErrors.ts"
import { StreamMetrics } from "./StreamMetrics.ts"
import { untilBrokerBack } from "./untilBrokerBack.ts"

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
  /** The processor's counters; pass one to expose it (e.g. on a Prometheus endpoint) while it runs. */
  readonly metrics?: StreamMetrics
  /** Called after each committed batch (tests, the dev supervisor). */
  readonly onBatch?: (metrics: StreamMetrics) => void
  /** Bytes a record of events.dlq may have at most once encoded (default: what the broker takes, less room for framing). */
  readonly dlqRecordMaxBytes?: number
  /** Order events not sent with a write key are kept but not trusted (default: the SHOP_REQUIRE_KEYED_ORDERS config). */
  readonly requireKeyedOrders?: boolean
  /** How long the processor waits for an unreachable broker before it stops (default 5 minutes). */
  readonly brokerOutageLimitMs?: number
}

/** Records between two forced garbage collections (see the main loop). */
const GC_EVERY_RECORDS = 10_000

/** Room left under the broker's record limit for the record's key (maxRecordBytes counts key + value). */
const DLQ_KEY_ROOM_BYTES = 1024

/** The records behind rows the lake refused: Silver rows and bronze/dlq rows carry their source offset, Bronze its offset, order lines their event. */
const offsetOfRow = (row: Row, routed: RoutedBatch): number | undefined =>
  typeof row.source_offset === "number"
    ? row.source_offset
    : typeof row.offset === "number"
      ? row.offset
      : routed.offsetOfEventId.get(row.event_id as string)

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
    const groupId = options.groupId ?? "stream-processor"
    const maxBatchRecords = options.maxBatchRecords ?? 10_000
    const maxBatchMs = options.maxBatchMs ?? 500
    const metricsPath = options.metricsPath ?? join(lake.root, "_metrics", "stream.json")
    const metrics = options.metrics ?? new StreamMetrics()
    const requireKeyedOrders = options.requireKeyedOrders ?? (yield* RequireKeyedOrders)
    // Ids beyond half a million spill to sorted run files with Bloom filters (bounded memory); a cache of Silver,
    // rebuilt at every start, in a directory per partition set (each set has one owner at a time).
    const spillDir = join(
      lake.root,
      "_dedup",
      options.partitions === undefined ? "all" : `p${[...options.partitions].sort((a, b) => a - b).join("-")}`,
    )
    rmSync(spillDir, { recursive: true, force: true })
    const dedup = yield* Effect.acquireRelease(
      Effect.sync(() => new Deduplicator({ spillDir })),
      (d) => Effect.sync(() => d.close()),
    )
    const activity = new SessionActivity()
    const silverIds = new SilverIds(lake.root, yield* lake.tail, dedup, activity)
    const outbox = new DlqOutbox(lake.root, TOPIC_RAW)
    /** Per owned partition: source offsets whose DLQ record a crashed run already put on events.dlq. */
    const dlqDone = new Map<number, Set<number>>()

    /** Every broker call of the processor rides out an outage (a broker restart): see untilBrokerBack. */
    const retried = (what: string) => untilBrokerBack(what, options.brokerOutageLimitMs)
    yield* ensureDefaultTopics.pipe(retried("checking the topics"))
    // Asked of the broker (Kafka: the topic's max.message.bytes), so a DLQ record can never be refused for size.
    const dlqMaxBytes = Math.min(
      options.dlqRecordMaxBytes ?? Number.POSITIVE_INFINITY,
      (yield* broker.maxRecordBytes(TOPIC_DLQ).pipe(retried(`the record limit of ${TOPIC_DLQ}`))) - DLQ_KEY_ROOM_BYTES,
    )
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
      const starts = yield* broker.startOffsets(TOPIC_RAW).pipe(retried(`the start offsets of ${TOPIC_RAW}`))
      const ends =
        targets === undefined
          ? []
          : yield* broker.endOffsets(TOPIC_RAW).pipe(retried(`the end offsets of ${TOPIC_RAW}`))
      let repeats = 0
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
        yield* consumer.seek({ topic: TOPIC_RAW, partition: p, offset })
        positions.set(p, offset)
        owned.add(p)
        const done = yield* outbox
          .alreadyProduced(p, offset, groupId)
          .pipe(retried(`checking what an interrupted batch of partition ${p} left on ${TOPIC_DLQ}`))
        dlqDone.set(p, done)
        repeats += done.size
      }
      yield* Effect.log(
        `partitions ${fresh.join(",")}: resuming at ${fresh.map((p) => positions.get(p)).join(",")} from the lake's commit log` +
          `${targets === undefined ? "" : ` (end offsets ${fresh.map((p) => targets.get(p)).join(",")})`}` +
          ` (removed ${report.orphansRemoved} uncommitted files, ${report.tempFilesRemoved} temp files` +
          `${repeats > 0 ? `; ${repeats} DLQ records of the interrupted batch are on events.dlq already and will not be sent again` : ""})`,
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

    const ownBatch = (topic: string, partition: number) => topic === TOPIC_RAW && owned.has(partition)

    /** `lake.withCommitLock`, timed into the metrics (what cross-worker exactness costs). */
    const withCommitLock = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        const asked = performance.now()
        return lake.withCommitLock(
          Effect.suspend(() => {
            const got = performance.now()
            metrics.commitLock.taken++
            metrics.commitLock.waitMs += got - asked
            return effect.pipe(
              Effect.ensuring(
                Effect.sync(() => {
                  metrics.commitLock.heldMs += performance.now() - got
                }),
              ),
            )
          }),
        )
      })

    /** Routes and stages a batch; records whose rows the lake refuses go to the DLQ instead, and it stages again. */
    const routeAndStage = Effect.fn("StreamProcessor.routeAndStage")(function* (
      partition: number,
      judged: ReadonlyArray<JudgedRecord>,
      now: number,
      unwritable: Map<number, DlqError>,
    ) {
      const first = judged[0]!.record.offset
      const last = judged.at(-1)!.record.offset
      for (;;) {
        const routed = routeBatch(judged, dedup, now, unwritable, {
          activity,
          requireKeyedOrders,
        })
        const staged = yield* lake
          .stageBatch({
            topic: TOPIC_RAW,
            partition,
            fromOffset: first,
            toOffset: last,
            maxRecordTs: judged.reduce((m, j) => Math.max(m, j.record.timestamp), 0),
            tables: routed.tables,
          })
          .pipe(
            Effect.map((s): StagedBatch | null => s),
            Effect.catchTag("LakeRowsUnwritable", (e) =>
              Effect.gen(function* () {
                let added = 0
                for (const { table, row, reason } of e.rows) {
                  const offset = offsetOfRow(row, routed)
                  if (offset === undefined || unwritable.has(offset) || table === "bronze/dlq") {
                    // Not traceable to one record, or the DLQ row itself: a defect, not bad input.
                    return yield* Effect.die(new Error(`${table}: a row cannot be encoded: ${reason}`))
                  }
                  unwritable.set(offset, {
                    code: "schema_violation",
                    message: `the event could not be written to Silver (${table}): ${reason}`,
                    path: null,
                  })
                  added++
                }
                yield* Effect.log(`${added} records of partition ${partition} cannot be written to Silver: to the DLQ`)
                return null
              }),
            ),
          )
        if (staged !== null) return { routed, staged }
      }
    })

    /**
     * A batch's DLQ records onto events.dlq, exactly once. Noted durably first, so a restart after a crash skips
     * what reached events.dlq. A produce that fails while the broker is away may still have written some of
     * them: before sending again, the same check as after a crash says which, and only the rest is sent.
     */
    const produceDlq = Effect.fn("StreamProcessor.produceDlq")(function* (
      partition: number,
      records: ReadonlyArray<ConsumedRecord>,
      dlq: ReadonlyArray<DlqRecord>,
    ) {
      const from = records[0]!.offset
      yield* outbox.note(partition, {
        from,
        to: records.at(-1)!.offset,
        dlqEnds: yield* broker.endOffsets(TOPIC_DLQ).pipe(retried(`the end offsets of ${TOPIC_DLQ}`)),
      })
      let toSend = dlq
      for (;;) {
        const sent = yield* Effect.result(
          broker.produce(
            TOPIC_DLQ,
            toSend.map((d) => ({ key: dlqKey(d), value: dlqTopicValue(d, dlqMaxBytes) })),
          ),
        )
        if (Result.isSuccess(sent)) return
        if (sent.failure._tag !== "BrokerUnavailable") return yield* sent.failure
        const done = yield* outbox
          .alreadyProduced(partition, from, groupId)
          .pipe(retried(`producing ${toSend.length} DLQ records of partition ${partition} (${sent.failure.message})`))
        toSend = toSend.filter((d) => !done.has(d.source.offset))
        if (toSend.length === 0) return
      }
    })

    const commitPartition = Effect.fn("StreamProcessor.commitPartition")(function* (
      partition: number,
      records: ReadonlyArray<ConsumedRecord>,
    ) {
      const now = yield* Clock.currentTimeMillis
      const judged = judgeBatch(records, options.validate ?? {})
      // Every event date of the batch loaded from Silver first, so dedup never answers from a partial memory.
      const dates = eventDatesOf(judged)
      // Catching up before each lock as well as inside it: the bulk of the other workers' commits (reading their
      // files' event_ids) is read while they keep publishing, and the lock is held only for the remainder.
      // Safe outside the lock: it only adds ids of batches that are committed; the in-lock catch-up that decides
      // follows the same tail on from there.
      yield* silverIds.catchUp(ownBatch)
      yield* withCommitLock(
        Effect.gen(function* () {
          yield* silverIds.catchUp(ownBatch)
          yield* silverIds.load(dedup.needs(dates))
        }),
      )
      const unwritable = new Map<number, DlqError>()
      let { routed, staged } = yield* routeAndStage(partition, judged, now, unwritable)

      const done = dlqDone.get(partition)
      const dlq = routed.dlq.filter((d) => done === undefined || !done.has(d.source.offset))
      if (dlq.length > 0) yield* produceDlq(partition, records, dlq)
      yield* silverIds.catchUp(ownBatch)
      yield* withCommitLock(
        Effect.gen(function* () {
          // Another process may have committed a copy of one of our events since we routed: route again.
          yield* silverIds.catchUp(ownBatch)
          if (routed.newIds.some(([id]) => dedup.has(id))) {
            yield* lake.discardBatch(staged)
            ;({ routed, staged } = yield* routeAndStage(partition, judged, now, unwritable))
          }
          yield* lake.publishBatch(staged, routed.counts)
          for (const [id, date] of routed.newIds) dedup.add(id, date)
          for (const [date, key] of routed.activity) activity.add(date, key)
          yield* silverIds.catchUp(ownBatch)
        }),
      )
      dedup.evictIdleDays()
      activity.keep((d) => dedup.isLoaded(d))
      const last = records.at(-1)!.offset
      positions.set(partition, last + 1)
      yield* consumer
        .commit([{ topic: TOPIC_RAW, partition, offset: last + 1 }])
        .pipe(retried(`committing the offset of partition ${partition}`))
      metrics.addBatch(routed.counts)
      metrics.totals = silverIds.totals.snapshot()
      if (routed.newestEventTs !== null && (metrics.newestEventTs ?? 0) < routed.newestEventTs) {
        metrics.newestEventTs = routed.newestEventTs
      }
    })

    let recordsSinceGc = 0
    let lastLag = 0
    let lastLog = yield* Clock.currentTimeMillis
    const refreshLag = Effect.fn("StreamProcessor.refreshLag")(function* (force: boolean) {
      const now = yield* Clock.currentTimeMillis
      if (!force && now - lastLag < 1_000) return
      lastLag = now
      const ends = yield* broker.endOffsets(TOPIC_RAW).pipe(retried(`the end offsets of ${TOPIC_RAW}`))
      metrics.partitions = ends
        .filter((e) => owned.has(e.partition))
        .map((e) => {
          const committed = positions.get(e.partition) ?? 0
          return { partition: e.partition, committed, end: e.offset, lag: Math.max(0, e.offset - committed) }
        })
    })

    while (!done()) {
      const started = yield* Clock.currentTimeMillis
      const batch: Array<ConsumedRecord> = []
      // Poll until the batch is full or its time is up; an empty poll means nothing more came in time.
      while (batch.length < maxBatchRecords) {
        const remaining = Math.max(0, maxBatchMs - ((yield* Clock.currentTimeMillis) - started))
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
      // A batch leaves its records, rows and Parquet buffers as garbage (some 15 KB a record); JavaScriptCore lets
      // the heap grow to several batches of it before collecting (peak RSS 450 MB and more). A full collection
      // every 10,000 records (~50 ms) holds the process under 300 MB; every 5,000 cost 8% more CPU, every 20,000
      // let it reach 300 MB.
      recordsSinceGc += batch.length
      if (recordsSinceGc >= GC_EVERY_RECORDS) {
        recordsSinceGc = 0
        Bun.gc(true)
      }
      metrics.dedupIds = dedup.size
      yield* refreshLag(false)
      metrics.writeTo(metricsPath)
      options.onBatch?.(metrics)
      const now = yield* Clock.currentTimeMillis
      if (now - lastLog >= 10_000) {
        lastLog = now
        yield* Effect.log(metrics.summary())
      }
    }
    yield* refreshLag(true)
    yield* withCommitLock(silverIds.catchUp(ownBatch))
    metrics.totals = silverIds.totals.snapshot()
    metrics.writeTo(metricsPath)
    yield* Effect.log(`${options.availableNow ? "caught up" : "stopped"}: ${metrics.summary()}`)
    return metrics.snapshot()
  }).pipe(
    Effect.scoped,
    // Its lines read `[stream] ...`, or `[stream 0,2] ...` for a worker owning some partitions.
    Effect.annotateLogs(
      "component",
      options.partitions === undefined ? "stream" : `stream ${options.partitions.join(",")}`,
    ),
  ) as Effect.Effect<ReturnType<StreamMetrics["snapshot"]>, BrokerError | LakeError | StreamError, Broker | Lake>
