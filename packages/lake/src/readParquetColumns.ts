import type { SchemaElement } from "hyparquet"
import { type ColumnData, parquetMetadata, parquetRead } from "hyparquet"
import type { TableSchema } from "./TableSchema.ts"

/**
 * Reads a lake Parquet file back into whole columns in the lake's value convention (the one encodeParquet takes):
 * money as integer cents and timestamps as epoch ms (exact: the DECIMAL and TIMESTAMP annotations are dropped
 * before decoding so hyparquet hands over the raw INT64, not a float or a Date), strings as strings, bytes as
 * bytes. A column the file lacks (an older file) comes back as nulls.
 */
export const readParquetColumns = async (
  bytes: ArrayBuffer,
  table: TableSchema,
): Promise<{ readonly rows: number; readonly columns: Map<string, Array<unknown>> }> => {
  const metadata = parquetMetadata(bytes)
  for (const element of metadata.schema as Array<SchemaElement & { converted_type?: string; logical_type?: unknown }>) {
    if (element.converted_type === "DECIMAL" || element.converted_type === "TIMESTAMP_MILLIS") {
      delete element.converted_type
      delete element.logical_type
    }
  }
  const rows = Number(metadata.num_rows)
  const chunks = new Map<string, Array<ColumnData>>()
  const present = new Set(metadata.schema.slice(1).map((e) => e.name))
  const wanted = table.columns.filter((c) => present.has(c.name)).map((c) => c.name)
  await parquetRead({
    file: bytes,
    metadata,
    columns: wanted,
    utf8: false,
    onChunk: (chunk) => {
      const list = chunks.get(chunk.columnName)
      if (list === undefined) chunks.set(chunk.columnName, [chunk])
      else list.push(chunk)
    },
  })
  const columns = new Map<string, Array<unknown>>()
  for (const c of table.columns) {
    const out: Array<unknown> = new Array(rows)
    const parts = (chunks.get(c.name) ?? []).sort((a, b) => a.rowStart - b.rowStart)
    if (parts.length === 0) out.fill(null)
    const big = c.type === "int64" || c.type === "money_cents" || c.type === "timestamp_ms"
    for (const part of parts) {
      const data = part.columnData as ArrayLike<unknown>
      for (let i = 0; i < data.length && part.rowStart + i < rows; i++) {
        const v = data[i]
        out[part.rowStart + i] = v === undefined ? null : big && typeof v === "bigint" ? Number(v) : v
      }
    }
    columns.set(c.name, out)
  }
  return { rows, columns }
}
