import { readFileSync } from "node:fs"
import { join } from "node:path"
import { writeFileAll } from "@shop/fsio"
import { Effect } from "effect"
import type { CompactionContext } from "./CompactionContext.ts"
import { LakeIOError } from "./LakeError.ts"
import { lakeLayout } from "./layout.ts"
import { encodeParquetColumns } from "./parquetFile.ts"
import { readParquetColumns } from "./readParquetColumns.ts"
import type { TableSchema } from "./TableSchema.ts"
import type { LakeFile } from "./tableView.ts"

/** Row order of a compacted file: the table's sort columns, numbers and strings compared as such. */
const sortPermutation = (columns: ReadonlyMap<string, Array<unknown>>, rows: number, sortBy: ReadonlyArray<string>) => {
  const keys = sortBy.map((k) => columns.get(k)).filter((c): c is Array<unknown> => c !== undefined)
  const order = Array.from({ length: rows }, (_, i) => i)
  order.sort((a, b) => {
    for (const k of keys) {
      const x = k[a] as number | string | null
      const y = k[b] as number | string | null
      if (x === y) continue
      if (x === null) return -1
      if (y === null) return 1
      return x < y ? -1 : 1
    }
    return a - b
  })
  return order
}

/** Rows per output so that a day's small files become outputs of about equal size, each >= target if possible. */
const rowsPerOutput = (totalRows: number, targetRows: number) =>
  Math.ceil(totalRows / Math.max(1, Math.floor(totalRows / targetRows)))

/** Roughly what decoded values take in memory: string and byte lengths, plus 8 bytes a value. */
const decodedBytes = (columns: ReadonlyMap<string, Array<unknown>>) => {
  let n = 0
  for (const values of columns.values()) {
    for (const v of values) n += typeof v === "string" ? v.length : v instanceof Uint8Array ? v.length : 8
  }
  return n
}

export interface MergeLimits {
  readonly targetRows: number
  /** Source bytes read into memory for one output at most (bounds memory when rows are wide). */
  readonly maxGroupBytes: number
}

/**
 * The merge of a compaction: a day's small files into sorted outputs with statistics, written whole, fsynced
 * and read back into `staging` (outside the live directory: nothing is visible or committed yet). One output
 * at a time in memory: files are decoded and appended to it (oldest batches first) until it has its rows or
 * its decoded size reaches maxGroupBytes (huge Bronze payloads), then it is sorted, encoded and written, and
 * dropped. Fails if the outputs do not hold every source row.
 */
export const mergeDay = Effect.fnUntraced(function* (
  ctx: CompactionContext,
  schema: TableSchema,
  date: string,
  id: string,
  staging: string,
  small: ReadonlyArray<LakeFile>,
  limits: MergeLimits,
) {
  const { root, io, fail, writeOptions } = ctx
  const table = schema.name
  const notCommitted = `the compaction of ${table} ${date} was not committed (readers keep its old files)`
  const ordered = [...small].sort((a, b) => a.maxRecordTs - b.maxRecordTs || (a.path < b.path ? -1 : 1))
  const outputs: Array<LakeFile> = []
  let rowsIn = 0
  const perOutput = rowsPerOutput(
    small.reduce((s, f) => s + f.rows, 0),
    limits.targetRows,
  )
  let merged = new Map<string, Array<unknown>>()
  let group: Array<LakeFile> = []
  let rows = 0
  let size = 0
  const flush = Effect.fnUntraced(function* () {
    const order = sortPermutation(merged, rows, schema.sortBy ?? [])
    for (const [name, values] of merged)
      merged.set(
        name,
        order.map((i) => values[i]),
      )
    const name = `compacted-${id}-${String(outputs.length).padStart(3, "0")}.parquet`
    const bytes = encodeParquetColumns(schema, merged, rows, { statistics: true, rowGroupRows: 128 * 1024 })
    // Written whole, fsynced and read back (size, PAR1 at both ends, footer length) before it can be staged.
    yield* io(
      `write ${name}`,
      () => writeFileAll(join(staging, name), bytes, { ...writeOptions, parquet: true }),
      notCommitted,
    )
    outputs.push({
      table,
      date,
      path: lakeLayout.dayFilePath(table, date, name),
      rows,
      bytes: bytes.length,
      sources: [...new Set(group.flatMap((f) => f.sources))].sort(),
      maxRecordTs: group.reduce((m, f) => Math.max(m, f.maxRecordTs), 0),
    })
    rowsIn += rows
    const big = rows >= 10_000
    merged = new Map()
    group = []
    rows = 0
    size = 0
    // Collect the output's columns before the next one is read: Bun's collector would let several pile up.
    if (big) Bun.gc(true)
    yield* Effect.yieldNow
  })
  for (const f of ordered) {
    const bytes = yield* io(`read ${f.path}`, () => readFileSync(join(root, f.path)))
    const part = yield* Effect.tryPromise({
      try: () => readParquetColumns(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), schema),
      catch: fail(`decode ${f.path}`),
    })
    if (part.rows !== f.rows) {
      return yield* new LakeIOError({ message: `${f.path}: ${part.rows} rows, the log says ${f.rows}` })
    }
    for (const [name, values] of part.columns) {
      const into = merged.get(name)
      if (into === undefined) merged.set(name, values)
      else for (const v of values) into.push(v)
    }
    group.push(f)
    rows += part.rows
    size += decodedBytes(part.columns)
    if (rows >= perOutput || size >= limits.maxGroupBytes) yield* flush()
  }
  if (rows > 0) yield* flush()
  if (rowsIn !== small.reduce((s, f) => s + f.rows, 0)) {
    return yield* new LakeIOError({ message: `${table} ${date}: merged ${rowsIn} rows, expected more` })
  }
  return { outputs, rowsIn }
})
