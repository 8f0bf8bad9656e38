/**
 * A table's columns, declared once and mapped to Parquet: money is DECIMAL(18,2) stored as INT64 cents (exact,
 * read as DECIMAL by DuckDB, pyarrow and Spark), timestamps are INT64 milliseconds (TIMESTAMP_MILLIS, UTC).
 * The hive partition column `event_date` lives in the directory name, not in the files.
 */
import type { SchemaElement } from "hyparquet"

export type ColumnType = "string" | "int32" | "int64" | "double" | "bool" | "timestamp_ms" | "money_cents" | "bytes"

export interface Column {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
  /** Values mostly distinct (ids, raw payloads): write them plain, without trying a dictionary first. */
  readonly unique?: boolean
}

export interface TableSchema {
  readonly name: string
  readonly columns: ReadonlyArray<Column>
  /** How compaction orders rows inside a file: time first, so readers' min/max statistics prune well. */
  readonly sortBy?: ReadonlyArray<string>
}

export const col = (name: string, type: ColumnType, nullable = false): Column => ({ name, type, nullable })

/** A column whose values are mostly distinct. */
export const uniqueCol = (name: string, type: ColumnType, nullable = false): Column => ({
  name,
  type,
  nullable,
  unique: true,
})

const elementOf = (c: Column): SchemaElement => {
  const repetition_type = c.nullable ? "OPTIONAL" : "REQUIRED"
  switch (c.type) {
    case "string":
      return { name: c.name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type }
    case "bytes":
      return { name: c.name, type: "BYTE_ARRAY", repetition_type }
    case "int32":
      return { name: c.name, type: "INT32", repetition_type }
    case "int64":
      return { name: c.name, type: "INT64", repetition_type }
    case "double":
      return { name: c.name, type: "DOUBLE", repetition_type }
    case "bool":
      return { name: c.name, type: "BOOLEAN", repetition_type }
    case "timestamp_ms":
      return { name: c.name, type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type }
    case "money_cents":
      return { name: c.name, type: "INT64", converted_type: "DECIMAL", scale: 2, precision: 18, repetition_type }
  }
}

export const parquetSchemaOf = (table: TableSchema): Array<SchemaElement> => [
  { name: "root", num_children: table.columns.length },
  ...table.columns.map(elementOf),
]

/** The value hyparquet-writer expects for a column's Parquet type (null for a missing one). */
const converterOf = (c: Column): ((v: unknown) => unknown) => {
  switch (c.type) {
    case "int64":
    case "money_cents":
      return (v) => (v === null || v === undefined ? null : BigInt(v as number))
    case "timestamp_ms":
      // Whole ms as a number: the writer makes the INT64 (one BigInt per value, not two), as a Date would.
      return (v) => (v === null || v === undefined ? null : Math.floor(v as number))
    default:
      // Strings stay strings; a Uint8Array in a string column is its UTF-8 bytes, written as they are.
      return (v) => (v === undefined ? null : v)
  }
}

/** Converts one column's values to what hyparquet-writer expects for its Parquet type. */
export const columnValues = (c: Column, values: Array<unknown>): Array<unknown> => values.map(converterOf(c))

/** One column of rows (objects keyed by column name), converted, in a single pass (no intermediate array). */
export const columnOfRows = (c: Column, rows: ReadonlyArray<Record<string, unknown>>): Array<unknown> => {
  const convert = converterOf(c)
  const name = c.name
  const out = new Array<unknown>(rows.length)
  for (let i = 0; i < rows.length; i++) out[i] = convert(rows[i]![name])
  return out
}
