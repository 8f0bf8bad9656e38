import { ByteWriter, parquetWrite } from "hyparquet-writer"
import { columnValues, parquetSchemaOf, type TableSchema } from "./TableSchema.ts"

/** Rows DuckDB scans best come in row groups of 100k to 1M rows. */
const ROW_GROUP_ROWS = 250_000

/** Encodes rows (objects keyed by column name) as one Parquet file with statistics, snappy-compressed. */
export const encodeParquet = (table: TableSchema, rows: ReadonlyArray<Record<string, unknown>>): Uint8Array => {
  const writer = new ByteWriter()
  parquetWrite({
    writer,
    schema: parquetSchemaOf(table),
    columnData: table.columns.map((c) => ({
      name: c.name,
      data: columnValues(
        c,
        rows.map((r) => r[c.name]),
      ) as Array<never>,
      nullable: c.nullable,
    })),
    rowGroupSize: ROW_GROUP_ROWS,
    createdBy: "shop-pulse lake",
  })
  return new Uint8Array(writer.getBuffer())
}
