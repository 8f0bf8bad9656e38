import { createInterface } from "node:readline/promises"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { DataDir, runCli } from "@shop/runtime"
import { lakeViews, lakeViewsSql } from "@shop/warehouse"
import { Console, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"

/** DuckDB refused a statement (a typo, an unknown table): its own message, one line. */
class SqlError extends Schema.TaggedError<SqlError>()("SqlError", { message: Schema.String }) {}

const cell = (v: unknown): string =>
  v === null || v === undefined ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v)

/** A result as an aligned table (numbers to the right), and its row count. */
export const formatTable = (columns: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>): string => {
  const text = rows.map((r) => r.map(cell))
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === "number"))
  const width = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i]!.length)))
  const pad = (s: string, i: number) => (numeric[i] ? s.padStart(width[i]!) : s.padEnd(width[i]!))
  const line = (cells: ReadonlyArray<string>) => cells.map(pad).join("  ").trimEnd()
  return [
    line(columns),
    width.map((w) => "-".repeat(w)).join("  "),
    ...text.map(line),
    `(${rows.length} row${rows.length === 1 ? "" : "s"})`,
  ].join("\n")
}

const run = (connection: DuckDBConnection, sql: string, json: boolean) =>
  Effect.tryPromise({
    try: () => connection.runAndReadAll(sql),
    catch: (e) => {
      const first = (e instanceof Error ? e.message : String(e)).split("\n")[0]!
      const hint = first.startsWith("Catalog Error") ? " (bun run sql -- --tables lists the views)" : ""
      return new SqlError({ message: `${first}${hint}` })
    },
  }).pipe(
    Effect.map((reader) =>
      json
        ? reader
            .getRowObjectsJson()
            .map((r) => JSON.stringify(r))
            .join("\n")
        : formatTable(reader.columnNames(), reader.getRowsJson()),
    ),
  )

const listing = (root: string) =>
  lakeViews(root)
    .map((v) => `${v.schema}.${v.name}`)
    .join("\n")

const command = Command.make(
  "sql",
  {
    query: Argument.String("query").pipe(
      Argument.withDescription("SQL to run over the lake's views (without it: an interactive prompt)"),
      Argument.optional,
    ),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Rows as JSON lines"), Flag.withDefault(false)),
    tables: Flag.Boolean("tables").pipe(Flag.withDescription("List the views and exit"), Flag.withDefault(false)),
  },
  ({ query, json, tables }) =>
    Effect.gen(function* () {
      const root = yield* DataDir
      if (tables) return yield* Console.log(listing(root))
      // In memory: the views read the Parquet files as they are now; no database file is opened or locked.
      const connection = yield* Effect.acquireRelease(
        Effect.promise(async () => (await DuckDBInstance.create(":memory:")).connect()),
        (c) => Effect.sync(() => c.closeSync()),
      )
      yield* run(connection, lakeViewsSql(root), false)
      if (Option.isSome(query)) return yield* Console.log(yield* run(connection, query.value, json))
      const tty = process.stdin.isTTY === true
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty })
      const lines = rl[Symbol.asyncIterator]()
      yield* Console.error(
        `the lake under ${root} as views (.tables lists them; .quit or Ctrl-D ends); a statement ends with ;`,
      )
      let pending = ""
      for (;;) {
        rl.setPrompt(pending === "" ? "sql> " : "...> ")
        if (tty) rl.prompt()
        const next = yield* Effect.promise(() => lines.next())
        if (next.done === true) break
        const line: string = next.value
        if (line.trim() === ".quit" || line.trim() === ".exit") break
        if (pending === "" && line.trim() === ".tables") {
          yield* Console.log(listing(root))
          continue
        }
        pending = `${pending}${line}\n`
        if (!line.trim().endsWith(";")) continue
        const sql = pending
        pending = ""
        yield* run(connection, sql, json).pipe(
          Effect.flatMap(Console.log),
          Effect.catchTag("SqlError", (e) => Console.error(`error: ${e.message}`)),
        )
      }
      rl.close()
    }).pipe(Effect.scoped),
).pipe(
  Command.withDescription(
    "Query the lake with SQL: silver.page_view, gold.revenue_daily, dbt.fct_orders, ... (in-memory DuckDB, read-only views over the Parquet)",
  ),
)

runCli(command)
