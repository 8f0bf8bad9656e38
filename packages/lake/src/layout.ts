/**
 * Where everything of the lake lives under its root: the one place that spells these paths (see the README's
 * Layout). Tables are `<layer>/<name>` (e.g. `silver/page_view`) with hive day directories below.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"

const meta = (root: string, ...parts: Array<string>) => join(root, "_lake", ...parts)

const DAY_PREFIX = "event_date="
/** A table's day directory (hive style, so DuckDB and pyarrow read the date as a column). */
const dayDirName = (date: string) => `${DAY_PREFIX}${date}`

const LOG_SUFFIX = ".log"

/** One source partition's commit log. */
export interface CommitLogFile {
  readonly topic: string
  readonly partition: number
  readonly path: string
}

/** The commit logs present now (of one topic, or of all), partitions in ascending order per topic. */
const commitLogs = (root: string, topic?: string): Array<CommitLogFile> => {
  const dir = meta(root, "commits")
  if (!existsSync(dir)) return []
  const topics = topic === undefined ? readdirSync(dir) : existsSync(join(dir, topic)) ? [topic] : []
  return topics.flatMap((t) =>
    readdirSync(join(dir, t))
      .filter((f) => f.endsWith(LOG_SUFFIX))
      .map((f) => Number(f.slice(0, -LOG_SUFFIX.length)))
      .sort((a, b) => a - b)
      .map((partition) => ({ topic: t, partition, path: join(dir, t, `${partition}${LOG_SUFFIX}`) })),
  )
}

/** Every day directory (absolute) of every table under the given layers (e.g. `silver`), as they are now. */
const dayDirs = (root: string, layers: ReadonlyArray<string>): Array<string> =>
  layers.flatMap((layer) => {
    const layerDir = join(root, layer)
    if (!existsSync(layerDir)) return []
    return readdirSync(layerDir).flatMap((table) =>
      readdirSync(join(layerDir, table))
        .filter((d) => d.startsWith(DAY_PREFIX))
        .map((d) => join(layerDir, table, d)),
    )
  })

export const lakeLayout = {
  /** The commit logs, one per source topic-partition (`commits/<topic>/<partition>.log`): the source of truth. */
  commitLogPath: (root: string, topic: string, partition: number) =>
    meta(root, "commits", topic, `${partition}${LOG_SUFFIX}`),
  commitLogs,
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
  /** A table's day directory relative to the lake's root. */
  dayDirPath: (table: string, date: string) => join(table, dayDirName(date)),
  /** A file of a table's day, relative to the lake's root (as the commit logs name files). */
  dayFilePath: (table: string, date: string, file: string) => join(table, dayDirName(date), file),
  dayDirs,
  /** Gold: one directory per daily fact (a file a day), the right-now rollups in realtime/, dbt's marts in dbt/. */
  goldDir: (root: string) => join(root, "gold"),
  goldFactFile: (root: string, fact: string, date: string) =>
    join(root, "gold", fact, dayDirName(date), "data.parquet"),
  goldRealtimeDir: (root: string) => join(root, "gold", "realtime"),
} as const
