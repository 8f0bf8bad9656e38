import { DuckDBInstance } from "@duckdb/node-api"
import { Context, Effect, Layer, Schema } from "effect"

/** DuckDB refused or failed a statement. */
export class WarehouseError extends Schema.TaggedError<WarehouseError>()("WarehouseError", {
  message: Schema.String,
  sql: Schema.String,
}) {}

export type Row = Record<string, unknown>

/**
 * An in-memory DuckDB for the gold jobs. It reads the lake's Parquet and writes Parquet: no database file is
 * shared between processes (DESIGN principle 3), so any number of readers can run beside the writers.
 */
export class Warehouse extends Context.Service<
  Warehouse,
  {
    /** Rows as JSON-friendly objects (BIGINT and DECIMAL as strings). */
    readonly query: (sql: string) => Effect.Effect<ReadonlyArray<Row>, WarehouseError>
    readonly exec: (sql: string) => Effect.Effect<void, WarehouseError>
  }
>()("@shop/warehouse/Warehouse") {
  static readonly layer: Layer.Layer<Warehouse> = Layer.effect(
    Warehouse,
    Effect.gen(function* () {
      const connection = yield* Effect.acquireRelease(
        Effect.promise(async () => (await DuckDBInstance.create(":memory:")).connect()),
        (c) => Effect.sync(() => c.closeSync()),
      )
      const attempt = <A>(sql: string, f: () => Promise<A>) =>
        Effect.tryPromise({
          try: f,
          catch: (cause) =>
            new WarehouseError({ message: cause instanceof Error ? cause.message : String(cause), sql }),
        })
      return Warehouse.of({
        query: (sql) =>
          attempt(sql, async () => (await connection.runAndReadAll(sql)).getRowObjectsJson() as ReadonlyArray<Row>),
        exec: (sql) => attempt(sql, async () => void (await connection.run(sql))),
      })
    }),
  )
}
