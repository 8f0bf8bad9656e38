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
      // Statements still running: a fiber interrupted by Ctrl-C leaves its statement on DuckDB's own threads.
      const running = new Set<Promise<unknown>>()
      const { connection } = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const instance = await DuckDBInstance.create(":memory:")
          return { instance, connection: await instance.connect() }
        }),
        // Closing under a running statement crashed Bun at exit (a segfault after Ctrl-C in a first-run spec) or
        // kept the process alive: interrupt it, let it settle (5 s at most), then close.
        ({ instance, connection }) =>
          Effect.promise(async () => {
            if (running.size > 0) {
              connection.interrupt()
              await Promise.race([Promise.allSettled([...running]), Bun.sleep(5_000)])
            }
            connection.closeSync()
            instance.closeSync()
          }),
      )
      const attempt = <A>(sql: string, f: () => Promise<A>) =>
        Effect.tryPromise({
          try: () => {
            const p = f()
            running.add(p)
            p.then(
              () => running.delete(p),
              () => running.delete(p),
            )
            return p
          },
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
