/**
 * Where everything of the lake lives under its root: the one place that spells these paths (see the README's
 * Layout). Tables are `<layer>/<name>` (e.g. `silver/page_view`) with hive day directories below.
 */
import { join } from "node:path"

const meta = (root: string, ...parts: Array<string>) => join(root, "_lake", ...parts)

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
  dayDir: (root: string, table: string, date: string) => join(root, table, `event_date=${date}`),
} as const
