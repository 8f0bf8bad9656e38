import { existsSync } from "node:fs"
import { join } from "node:path"
import type { TailedEntry } from "@shop/lake"
import type { Row, Warehouse } from "@shop/warehouse"
import { Effect } from "effect"
import type { LiveState } from "./LiveState.ts"
import { dlqRowsSql, EVENT_TABLES, eventRowsSql, orderItemRowsSql, orderRowsSql } from "./liveSql.ts"

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

/**
 * Reads the Parquet files that newly committed batches list (only the columns the page needs, one query per
 * table) and folds their rows into `state`.
 */
export const foldCommits = (
  wh: Warehouse["Service"],
  root: string,
  state: LiveState,
  ingest: IngestCounters,
  log: (line: string) => void,
) => {
  /** Runs a query over a list of files in chunks; a file that vanished (compaction) is counted, not fatal. */
  const readFiles = (paths: ReadonlyArray<string>, sql: (p: ReadonlyArray<string>) => string) =>
    Effect.gen(function* () {
      const rows: Array<Row> = []
      // A file compacted away since its commit is counted, not read (its rows now sit in a merged file).
      const present = paths.filter((p) => existsSync(p))
      ingest.unreadable += paths.length - present.length
      for (let i = 0; i < present.length; i += 2_000) {
        const chunk = present.slice(i, i + 2_000)
        const got = yield* wh.query(sql(chunk)).pipe(
          Effect.catch((e) =>
            Effect.sync(() => {
              ingest.unreadable += chunk.length
              log(`[dashboard] could not read ${chunk.length} files: ${e.message}`)
              return [] as ReadonlyArray<Row>
            }),
          ),
        )
        rows.push(...got)
      }
      return rows
    })

  return (entries: ReadonlyArray<TailedEntry>) =>
    Effect.gen(function* () {
      const now = Date.now()
      const byTable = new Map<string, Array<string>>()
      for (const e of entries) {
        for (const f of e.files) {
          if (f.table === "bronze/events") {
            state.addRecordsIn(f.rows, e.maxRecordTs, now)
            continue
          }
          const list = byTable.get(f.table) ?? []
          list.push(join(root, f.path))
          byTable.set(f.table, list)
          ingest.files++
        }
      }
      for (const table of EVENT_TABLES) {
        const paths = byTable.get(`silver/${table}`)
        if (paths === undefined) continue
        if (table === "order_placed") {
          const rows = yield* readFiles(paths, orderRowsSql)
          state.addOrders(
            rows.map((r) => ({
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
            rows.map((r) => ({ type: table, sessionId: String(r.session_id), ts: num(r.ts) })),
            now,
          )
          continue
        }
        const rows = yield* readFiles(paths, (p) => eventRowsSql(table, p))
        state.addEvents(
          rows.map((r) => ({
            type: table,
            sessionId: String(r.session_id),
            ts: num(r.ts),
            pageType: (r.page_type as string | null | undefined) ?? null,
            sku: (r.sku as string | null | undefined) ?? null,
          })),
          now,
        )
      }
      const items = byTable.get("silver/order_item")
      if (items !== undefined) {
        const rows = yield* readFiles(items, orderItemRowsSql)
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
        const rows = yield* readFiles(dlq, dlqRowsSql)
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
}
