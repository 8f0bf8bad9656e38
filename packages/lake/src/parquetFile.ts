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

/** About the uncompressed size of these columns: 8 bytes a number, the sampled mean length of strings and bytes. */
const initialBytes = (columns: ReadonlyArray<ReadonlyArray<unknown>>): number => {
  let bytes = 16 * 1024
  for (const values of columns) {
    const n = values.length
    if (n === 0) continue
    const step = Math.max(1, Math.floor(n / 32))
    let sampled = 0
    let size = 0
    for (let i = 0; i < n; i += step) {
      const v = values[i]
      size += typeof v === "string" ? v.length + 4 : v instanceof Uint8Array ? v.length + 4 : 8
      sampled++
    }
    bytes += Math.ceil((size / sampled) * n)
  }
  return bytes
}

const writeColumns = (
  table: TableSchema,
  valuesOf: (c: Column) => Array<unknown>,
  options: EncodeOptions,
): Uint8Array => {
  const columns = table.columns.map((c) => ({ c, data: valuesOf(c) }))
  // Sized up front from the values (uncompressed, so rarely short): the writer doubles by copying. A fixed
  // 4 MB per file made every micro-batch allocate tens of MB for its many small Silver files.
  const writer = new ByteWriter(initialBytes(columns.map((c) => c.data)))
  parquetWrite({
    writer,
    schema: parquetSchemaOf(table),
    columnData: columns.map(({ c, data }) => ({
      name: c.name,
      data: data as Array<never>,
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
