import type { ConsumedRecord } from "@shop/broker"
import {
  type DlqError,
  type DlqRecord,
  makeDlqRecord,
  utcDate,
  type ValidateOptions,
  type Validation,
  validate,
} from "@shop/contract"
import {
  BronzeDlq,
  BronzeEvents,
  type Row,
  SILVER_BY_EVENT_TYPE,
  SilverOrderItem,
  SilverReturnItem,
  silverRowsOf,
  type TableBatch,
  type TableSchema,
} from "@shop/lake"
import type { Deduplicator } from "./Deduplicator.ts"
import { BatchActivity, SessionActivity } from "./SessionActivity.ts"

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true })

/** Rows of one table, grouped by event_date. */
class TableRows {
  readonly partitions = new Map<string, Array<Row>>()
  constructor(readonly schema: TableSchema) {}
  add(date: string, row: Row): void {
    const rows = this.partitions.get(date)
    if (rows === undefined) this.partitions.set(date, [row])
    else rows.push(row)
  }
}

export interface RoutedBatch {
  readonly tables: ReadonlyArray<TableBatch>
  /** For events.dlq, in record order. */
  readonly dlq: ReadonlyArray<DlqRecord>
  /** Silver's new event_ids, to remember once the batch is committed. */
  readonly newIds: ReadonlyArray<readonly [string, string]>
  /** The record offset behind each new event_id (to trace a row the lake refuses back to its record). */
  readonly offsetOfEventId: ReadonlyMap<string, number>
  readonly counts: {
    readonly records: number
    readonly silver: Record<string, number>
    readonly duplicates: number
    readonly dlq: Record<string, number>
  }
  /** The rate rule's counts of the batch's new Silver events, to add once the batch is committed. */
  readonly activity: ReadonlyArray<readonly [string, string]>
  /** Newest event_ts accepted into Silver (for freshness). */
  readonly newestEventTs: number | null
}

/** A record with its text (for Bronze) and its verdict against the contract. */
export interface JudgedRecord {
  readonly record: ConsumedRecord
  readonly text: string
  /** The exact bytes, when they are not valid UTF-8 (no string holds them). */
  readonly exactBytes: Uint8Array | null
  readonly verdict: Validation
}

/** Decodes and validates every record of a micro-batch (no state: the dedup decision comes in routeBatch). */
export const judgeBatch = (records: ReadonlyArray<ConsumedRecord>, options: ValidateOptions): Array<JudgedRecord> =>
  records.map((record) => {
    let text: string
    let exactBytes: Uint8Array | null = null
    try {
      text = strictUtf8.decode(record.value)
    } catch {
      text = lenientUtf8.decode(record.value)
      exactBytes = record.value
    }
    return {
      record,
      text,
      exactBytes,
      verdict: validate({ value: exactBytes ?? text, timestamp: record.timestamp }, options),
    }
  })

/** The event dates of a batch's valid events: the days the deduplicator must have loaded. */
export const eventDatesOf = (judged: ReadonlyArray<JudgedRecord>): Set<string> => {
  const dates = new Set<string>()
  for (const j of judged) if (j.verdict.ok) dates.add(j.verdict.event.event_date)
  return dates
}

/**
 * Decides where every judged record of one partition's micro-batch goes: all of them to Bronze; valid first
 * copies to their Silver table (and order/return lines to the item tables); rejected ones to the DLQ with a
 * reason; copies of an event Silver already holds to the duplicate count. `unwritable` names records (by
 * offset) whose rows the lake could not encode: they go to the DLQ too. Nothing is dropped without being counted.
 */
export interface RouteOptions {
  /** SHOP_REQUIRE_KEYED_ORDERS: order events the collector marked `ingest.keyed: false` are not trusted. */
  readonly requireKeyedOrders?: boolean
  /** The rate rule's committed counts (a fresh one per call when absent: a batch judged alone). */
  readonly activity?: SessionActivity
}

export const routeBatch = (
  judged: ReadonlyArray<JudgedRecord>,
  dedup: Deduplicator,
  now: number,
  unwritable: ReadonlyMap<number, DlqError> = new Map(),
  options: RouteOptions = {},
): RoutedBatch => {
  const activity = new BatchActivity(options.activity ?? new SessionActivity())
  const requireKeyed = options.requireKeyedOrders === true
  const bronze = new TableRows(BronzeEvents)
  const bronzeDlq = new TableRows(BronzeDlq)
  const silver = new Map<string, TableRows>()
  const silverOf = (schema: TableSchema) => {
    let t = silver.get(schema.name)
    if (t === undefined) {
      t = new TableRows(schema)
      silver.set(schema.name, t)
    }
    return t
  }
  const dlq: Array<DlqRecord> = []
  const batchIds = new Set<string>()
  const newIds: Array<readonly [string, string]> = []
  const offsetOfEventId = new Map<string, number>()
  const silverCounts: Record<string, number> = {}
  const dlqCounts: Record<string, number> = {}
  let duplicates = 0
  let newestEventTs: number | null = null

  for (const { record: r, text, exactBytes, verdict } of judged) {
    bronze.add(utcDate(r.timestamp), {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      key: r.key,
      // Valid UTF-8 (nearly every record): the bytes as they came, which the writer stores without encoding the
      // text again; otherwise the lenient text, and the exact bytes beside it.
      value: exactBytes === null ? r.value : text,
      value_bytes: exactBytes,
      record_ts: r.timestamp,
      ingested_at: now,
    })

    const result: Validation = unwritable.has(r.offset) ? { ok: false, error: unwritable.get(r.offset)! } : verdict
    if (!result.ok) {
      const record = makeDlqRecord({
        error: result.error,
        source: { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp },
        payload: r.value,
        failedAt: now,
      })
      dlq.push(record)
      dlqCounts[result.error.code] = (dlqCounts[result.error.code] ?? 0) + 1
      bronzeDlq.add(utcDate(r.timestamp), {
        error_code: result.error.code,
        error_message: result.error.message,
        error_path: result.error.path,
        source_topic: r.topic,
        source_partition: r.partition,
        source_offset: r.offset,
        source_ts: r.timestamp,
        payload: record.payload,
        payload_base64: record.payload_base64 ?? null,
        failed_at: now,
      })
      continue
    }
    const event = result.event
    if (dedup.has(event.event_id) || batchIds.has(event.event_id)) {
      duplicates++
      continue
    }
    batchIds.add(event.event_id)
    newIds.push([event.event_id, event.event_date])
    offsetOfEventId.set(event.event_id, r.offset)
    // Every event counts towards its session's minute, whatever else it is.
    const overLimit = activity.overLimit(event.event_date, event.session_id, event.event_ts_ms)
    const isOrder = event.event_type === "order_placed" || event.event_type === "order_returned"
    const { row, items, itemTable } = silverRowsOf(
      event,
      { source_partition: r.partition, source_offset: r.offset, record_ts: r.timestamp, ingested_at: now },
      {
        bot_reason: event.ua_bot !== null ? "user_agent" : overLimit ? "rate" : null,
        trusted: !(isOrder && requireKeyed && event.keyed === false),
      },
    )
    silverOf(SILVER_BY_EVENT_TYPE[event.event_type]).add(event.event_date, row)
    silverCounts[event.event_type] = (silverCounts[event.event_type] ?? 0) + 1
    if (itemTable !== null) {
      const t = silverOf(itemTable === "order_item" ? SilverOrderItem : SilverReturnItem)
      for (const item of items) t.add(event.event_date, item)
    }
    if (newestEventTs === null || event.event_ts_ms > newestEventTs) newestEventTs = event.event_ts_ms
  }

  return {
    tables: [bronze, bronzeDlq, ...silver.values()].filter((t) => t.partitions.size > 0),
    dlq,
    newIds,
    offsetOfEventId,
    counts: { records: judged.length, silver: silverCounts, duplicates, dlq: dlqCounts },
    activity: activity.added,
    newestEventTs,
  }
}
