import { ByteWriter, parquetWrite } from "hyparquet-writer"
import { snappyCompressor } from "hysnappy"
import { type Column, columnOfRows, columnValues, parquetSchemaOf, type TableSchema } from "./TableSchema.ts"

/** One WebAssembly instance for the process: creating one per call costs more than it saves. */
const snappyCompress = snappyCompressor()

/** Rows DuckDB scans best come in row groups of 100k to 1M rows. */
const ROW_GROUP_ROWS = 250_000

export interface EncodeOptions {
  /**
   * Column min/max statistics. They speed up readers' filters but cost about a third of the write time;
   * micro-batch files skip them, and compaction rewrites each day with them.
   */
  readonly statistics?: boolean
  /** Rows per row group (default 250,000). */
  readonly rowGroupRows?: number
}

/** Encodes rows (objects keyed by column name) as one snappy-compressed Parquet file. */
export const encodeParquet = (
  table: TableSchema,
  rows: ReadonlyArray<Record<string, unknown>>,
  options: EncodeOptions = {},
): Uint8Array => writeColumns(table, (c) => columnOfRows(c, rows), options)

/** Encodes whole columns (values in the lake's convention: numbers for cents and ms) as one Parquet file. */
export const encodeParquetColumns = (
  table: TableSchema,
  columns: ReadonlyMap<string, Array<unknown>>,
  rowCount: number,
  options: EncodeOptions = {},
): Uint8Array =>
  writeColumns(table, (c) => columnValues(c, columns.get(c.name) ?? new Array(rowCount).fill(null)), options)

const writeColumns = (
  table: TableSchema,
  valuesOf: (c: Column) => Array<unknown>,
  options: EncodeOptions,
): Uint8Array => {
  // Sized up front: the writer doubles by copying, and most files are a few MB.
  const writer = new ByteWriter(4 * 1024 * 1024)
  parquetWrite({
    writer,
    schema: parquetSchemaOf(table),
    columnData: table.columns.map((c) => ({
      name: c.name,
      data: valuesOf(c) as Array<never>,
      nullable: c.nullable,
      ...(c.unique === true ? { encoding: "PLAIN" as const } : {}),
    })),
    rowGroupSize: options.rowGroupRows ?? ROW_GROUP_ROWS,
    statistics: options.statistics ?? true,
    // hysnappy's WebAssembly snappy (by hyparquet's authors) instead of the built-in JS one: the same bytes
    // format, a large share of the stream's encode time saved.
    compressors: { SNAPPY: snappyCompress },
    createdBy: "shop-pulse lake",
  })
  return writer.getBytes()
}
