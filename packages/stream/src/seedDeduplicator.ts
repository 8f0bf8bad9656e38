import { join } from "node:path"
import { DEFAULT_MAX_LATENESS_MS, utcDate } from "@shop/contract"
import { type Lake, LakeIOError, SILVER_BY_EVENT_TYPE, withTablesReadLocked } from "@shop/lake"
import { Effect } from "effect"
import { parquetReadObjects } from "hyparquet"
import type { Deduplicator } from "./Deduplicator.ts"

/**
 * Fills the deduplicator from what Silver already holds for these partitions (committed files only, and only
 * days a duplicate could still arrive for), so a copy that arrives after a restart is still caught.
 */
export const seedDeduplicator = (
  lake: Lake["Service"],
  dedup: Deduplicator,
  topic: string,
  partitions: ReadonlyArray<number>,
  newestRecordTs: number,
) =>
  Effect.gen(function* () {
    // Judged by record time, like the time rules, so a replay of old data dedups the same way.
    const since = utcDate(newestRecordTs - DEFAULT_MAX_LATENESS_MS - 2 * 86_400_000)
    const own = new Set(partitions.map((p) => `${topic}-${p}`))
    let ids = 0
    // Read-locked: a compaction does not swap the files away between listing and reading them.
    const tables = Object.values(SILVER_BY_EVENT_TYPE).map((t) => t.name)
    yield* withTablesReadLocked(
      lake.root,
      tables,
      Effect.gen(function* () {
        for (const table of Object.values(SILVER_BY_EVENT_TYPE)) {
          const files = yield* lake.listFiles(table.name)
          for (const file of files) {
            if (file.date < since || !file.sources.some((s) => own.has(s))) continue
            // A compacted file mixes source partitions: keep the ids of our own only.
            const mixed = file.sources.length > 1
            const rows = yield* Effect.tryPromise({
              try: async () =>
                parquetReadObjects({
                  file: await Bun.file(join(lake.root, file.path)).arrayBuffer(),
                  columns: mixed ? ["event_id", "source_partition"] : ["event_id"],
                }),
              catch: (cause) => new LakeIOError({ message: `read ${file.path}: ${String(cause)}`, cause }),
            })
            for (const row of rows) {
              if (mixed && !own.has(`${topic}-${row.source_partition}`)) continue
              dedup.add(row.event_id as string, file.date)
              ids++
            }
          }
        }
      }),
    )
    return ids
  })
