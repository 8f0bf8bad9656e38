/**
 * Where everything of the lake lives under its root: the one place that spells these paths (see the README's
 * Layout). Tables are `<layer>/<name>` (e.g. `silver/page_view`) with hive day directories below.
 */
import { join } from "node:path"

const meta = (root: string, ...parts: Array<string>) => join(root, "_lake", ...parts)

const DAY_PREFIX = "event_date="
/** A table's day directory (hive style, so DuckDB and pyarrow read the date as a column). */
const dayDirName = (date: string) => `${DAY_PREFIX}${date}`

export const lakeLayout = {
  /** The commit logs, one per source topic-partition: the source of truth. */
  commitsDir: (root: string) => meta(root, "commits"),
  commitLogPath: (root: string, topic: string, partition: number) => meta(root, "commits", topic, `${partition}.log`),
  /** Micro-batch files being written, before the rename into their day directory. */
  tempDir: (root: string) => meta(root, "tmp"),
  locksDir: (root: string) => meta(root, "locks"),
  /** The exclusive lock of publishing a batch (see Lake.withCommitLock). */
  commitLockPath: (root: string) => meta(root, "locks", "commit.lock"),
  swapLockPath: (root: string, table: string) => meta(root, "locks", `${table}.lock`),
  compactLockPath: (root: string, table: string) => meta(root, "locks", `${table}.compact.lock`),
  compactionLogPath: (root: string, table: string) => meta(root, "compactions", `${table}.log`),
  stagingRoot: (root: string, table: string) => meta(root, "staging", table),
  /** The stream processor's note of a DLQ produce in flight, per source partition. */
  dlqPendingPath: (root: string, topic: string, partition: number) =>
    meta(root, "dlq-pending", topic, `${partition}.json`),
  dayDirName,
  /** The date a day directory's name stands for; undefined for any other name. */
  dateOfDayDir: (name: string): string | undefined =>
    name.startsWith(DAY_PREFIX) ? name.slice(DAY_PREFIX.length) : undefined,
  dayDir: (root: string, table: string, date: string) => join(root, table, dayDirName(date)),
  /** A file of a table's day, relative to the lake's root (as the commit logs name files). */
  dayFilePath: (table: string, date: string, file: string) => join(table, dayDirName(date), file),
  /** Gold: one directory per daily fact (a file a day), the right-now rollups in realtime/, dbt's marts in dbt/. */
  goldDir: (root: string) => join(root, "gold"),
  goldFactFile: (root: string, fact: string, date: string) =>
    join(root, "gold", fact, dayDirName(date), "data.parquet"),
  goldRealtimeDir: (root: string) => join(root, "gold", "realtime"),
} as const
