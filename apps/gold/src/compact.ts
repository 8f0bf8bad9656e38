import { ALL_TABLES, DEFAULT_OPEN_DAY_MIN_FILES, DEFAULT_TARGET_ROWS, Lake } from "@shop/lake"
import { BadFlag, runCli } from "@shop/runtime"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"

/** `bun run compact`: merges the lake's small files into large sorted ones, without changing any number. */
const command = Command.make(
  "compact",
  {
    day: Flag.String("day").pipe(
      Flag.withDescription("Only this day (YYYY-MM-DD), open or closed, whenever it has 2+ small files"),
      Flag.optional,
    ),
    table: Flag.String("table").pipe(
      Flag.withDescription("Only this table, e.g. page_view or silver/page_view or bronze/events"),
      Flag.optional,
    ),
    dryRun: Flag.Boolean("dry-run").pipe(Flag.withDescription("Print what would be merged"), Flag.withDefault(false)),
    targetRows: Flag.Int("target-rows").pipe(
      Flag.withDescription("Files below this are small; outputs hold at least this many rows"),
      Flag.withDefault(DEFAULT_TARGET_ROWS),
    ),
    openDayMinFiles: Flag.Int("open-day-min-files").pipe(
      Flag.withDescription("Compact the open day once it has this many small files"),
      Flag.withDefault(DEFAULT_OPEN_DAY_MIN_FILES),
    ),
  },
  ({ day, table, dryRun, targetRows, openDayMinFiles }) =>
    Effect.gen(function* () {
      const lake = yield* Lake
      if (Option.isSome(day) && !/^\d{4}-\d{2}-\d{2}$/.test(day.value)) {
        return yield* new BadFlag({ message: `--day: expected a date like 2026-11-24, got "${day.value}"` })
      }
      const tables = Option.match(table, {
        onNone: () => ALL_TABLES,
        onSome: (t) => ALL_TABLES.filter((s) => s.name === t || s.name.split("/")[1] === t),
      })
      if (tables.length === 0) {
        return yield* new BadFlag({
          message: `--table: no table "${Option.getOrElse(table, () => "")}"; one of ${ALL_TABLES.map((t) => t.name).join(", ")}`,
        })
      }
      if (targetRows < 1 || openDayMinFiles < 2) {
        return yield* new BadFlag({ message: "--target-rows must be >= 1 and --open-day-min-files >= 2" })
      }
      const started = performance.now()
      const report = yield* lake.compact({
        tables,
        targetRows,
        openDayMinFiles,
        dryRun,
        ...(Option.isSome(day) ? { day: day.value } : {}),
      })
      const done = report.days.filter((d) => d.skipped === undefined)
      const before = done.reduce((s, d) => s + d.filesBefore, 0)
      const after = done.reduce((s, d) => s + d.filesAfter, 0)
      const rows = done.reduce((s, d) => s + d.rows, 0)
      yield* Console.error(
        dryRun
          ? `[compact] dry run: ${report.days.length} table-days would be merged (${report.days.reduce((s, d) => s + d.filesBefore, 0)} files)`
          : `[compact] ${done.length} table-days: ${before} files -> ${after}, ${rows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s` +
              (report.recovered > 0 ? `; ${report.recovered} interrupted compactions cleared or finished` : "") +
              (report.days.length > done.length ? `; ${report.days.length - done.length} skipped` : ""),
      )
    }).pipe(Effect.provide(Lake.layer)),
).pipe(Command.withDescription("Merge small Parquet files of the lake (closed days; the open day past a threshold)"))

runCli(command)
