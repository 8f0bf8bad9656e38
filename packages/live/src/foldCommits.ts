import { join } from "node:path"
import { filesNowHolding, type TailedEntry, withTablesReadLocked } from "@shop/lake"
import { type Row, sqlString, type Warehouse } from "@shop/warehouse"
import { Clock, Effect } from "effect"
import type { LiveState } from "./LiveState.ts"
import { dlqRowsSql, EVENT_TABLES, eventRowsSql, filesRel, orderItemRowsSql, orderRowsSql } from "./liveSql.ts"

export const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v))

/** What the folding has done so far (shown under health.ingest). */
export interface IngestCounters {
  commits: number
  files: number
  bootstrapMs: number
  lastIngestMs: number
  unreadable: number
  lastCommitAt: string | null
}

/** A batch's file of one table. */
interface BatchFile {
  readonly entry: TailedEntry
  /** Root-relative, as the commit lists it. */
  readonly path: string
}

const inBatches = (entries: ReadonlyArray<TailedEntry>) =>
  entries.map((e) => `(source_partition = ${e.partition} and source_offset between ${e.from} and ${e.to})`).join(" or ")

/**
 * Reads the Parquet files that newly committed batches list (only the columns the page needs, one query per
 * table) and folds their rows into `state`. It reads holding the tables' shared swap locks, so no compaction
 * swaps a directory under a query; a file compaction merged away between its commit and this read is read
 * from the files that hold its rows now, filtered to its batch (source partition and offsets; order lines
 * through their orders), so every committed row is counted once.
 */
export const foldCommits = (
  wh: Warehouse["Service"],
  root: string,
  state: LiveState,
  ingest: IngestCounters,
  log: (line: string) => void,
) => {
  /**
   * Relations that hold exactly the rows of `files` (of one table): the files still in place, and the rows of
   * the compacted-away ones in the files that replaced them. Called under the table's swap lock.
   */
  const batchRelations = (table: string, files: ReadonlyArray<BatchFile>, all: Map<string, Array<BatchFile>>) => {
    const held = filesNowHolding(
      root,
      table,
      files.map((f) => f.path),
    )
    if (held.lost.length > 0) {
      ingest.unreadable += held.lost.length
      log(`[dashboard] ${held.lost.length} committed files of ${table} are in no file of the lake: ${held.lost[0]}`)
    }
    const rels: Array<string> = []
    for (let i = 0; i < held.inPlace.length; i += 2_000) {
      rels.push(filesRel(held.inPlace.slice(i, i + 2_000).map((p) => join(root, p))))
    }
    if (held.successors.length === 0) return rels
    const inPlace = new Set(held.inPlace)
    const gone = files.filter((f) => !inPlace.has(f.path)).map((f) => f.entry)
    const merged = `read_parquet([${held.successors.map((p) => sqlString(join(root, p))).join(", ")}], union_by_name = true)`
    if (table !== "silver/order_item") {
      rels.push(`(select * from ${merged} where ${inBatches(gone)})`)
      return rels
    }
    // Order lines carry no offsets: they are the lines of the batches' orders (one event, one batch).
    const goneEntries = new Set(gone)
    const orders = batchRelations(
      "silver/order_placed",
      (all.get("silver/order_placed") ?? []).filter((f) => goneEntries.has(f.entry)),
      all,
    )
    if (orders.length > 0) {
      const ids = orders.map((r) => `select event_id from ${r}`).join(" union all ")
      rels.push(`(select * from ${merged} where event_id in (${ids}))`)
    }
    return rels
  }

  /** Runs `sql` over each relation; a failed query is counted and logged, never fatal. */
  const readRows = (rels: ReadonlyArray<string>, sql: (from: string) => string) =>
    Effect.gen(function* () {
      const rows: Array<Row> = []
      for (const rel of rels) {
        const got = yield* wh.query(sql(rel)).pipe(
          Effect.catch((e) =>
            Effect.sync(() => {
              ingest.unreadable++
              log(`[dashboard] could not read ${rel.slice(0, 200)}: ${e.message}`)
              return [] as ReadonlyArray<Row>
            }),
          ),
        )
        rows.push(...got)
      }
      return rows
    })

  const fold = (entries: ReadonlyArray<TailedEntry>, byTable: Map<string, Array<BatchFile>>) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      for (const e of entries) {
        for (const f of e.files) if (f.table === "bronze/events") state.addRecordsIn(f.rows, e.maxRecordTs, now)
      }
      const readFiles = (table: string, files: ReadonlyArray<BatchFile>, sql: (from: string) => string) =>
        readRows(batchRelations(table, files, byTable), sql)
      for (const table of EVENT_TABLES) {
        const paths = byTable.get(`silver/${table}`)
        if (paths === undefined) continue
        if (table === "order_placed") {
          const rows = yield* readFiles(`silver/${table}`, paths, orderRowsSql)
          state.addOrders(
            rows.map((r) => ({
              counted: r.counted === true,
              orderId: String(r.order_id),
              sessionId: String(r.session_id),
              userId: r.user_id === null ? null : String(r.user_id),
              ts: num(r.ts),
              recordTs: num(r.record_ts),
              units: num(r.units),
              lineCount: num(r.line_count),
              netCents: num(r.net_cents),
              totalCents: num(r.total_cents),
              paymentMethod: String(r.payment_method),
              country: String(r.country),
              device: String(r.device),
            })),
            now,
          )
          state.addEvents(
            rows.map((r) => ({ type: table, sessionId: String(r.session_id), ts: num(r.ts), bot: r.bot === true })),
            now,
          )
          continue
        }
        const rows = yield* readFiles(`silver/${table}`, paths, (from) => eventRowsSql(table, from))
        state.addEvents(
          rows.map((r) => ({
            type: table,
            sessionId: String(r.session_id),
            ts: num(r.ts),
            bot: r.bot === true,
            pageType: (r.page_type as string | null | undefined) ?? null,
            sku: (r.sku as string | null | undefined) ?? null,
          })),
          now,
        )
      }
      const items = byTable.get("silver/order_item")
      if (items !== undefined) {
        const rows = yield* readFiles("silver/order_item", items, orderItemRowsSql)
        state.addOrderItems(
          rows.map((r) => ({
            sku: String(r.sku),
            ts: num(r.ts),
            quantity: num(r.quantity),
            lineTotalCents: num(r.line_total_cents),
          })),
          now,
        )
      }
      const dlq = byTable.get("bronze/dlq")
      if (dlq !== undefined) {
        const rows = yield* readFiles("bronze/dlq", dlq, dlqRowsSql)
        state.addDlq(
          rows.map((r) => ({
            code: String(r.error_code),
            message: String(r.error_message),
            partition: num(r.source_partition),
            offset: num(r.source_offset),
            sourceTs: num(r.source_ts),
          })),
          now,
        )
      }
      state.prune(now)
      // Counted only now: a request served while the files were being read must not see the commit yet.
      ingest.commits += entries.length
      for (const e of entries) {
        if (ingest.lastCommitAt === null || e.committedAt > ingest.lastCommitAt) ingest.lastCommitAt = e.committedAt
      }
    })

  return (entries: ReadonlyArray<TailedEntry>) => {
    const byTable = new Map<string, Array<BatchFile>>()
    for (const e of entries) {
      for (const f of e.files) {
        if (f.table === "bronze/events") continue
        const list = byTable.get(f.table) ?? []
        list.push({ entry: e, path: f.path })
        byTable.set(f.table, list)
        ingest.files++
      }
    }
    // No compaction swaps these tables' directories while their files are read.
    return withTablesReadLocked(root, byTable.keys(), fold(entries, byTable))
  }
}
