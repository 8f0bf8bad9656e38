import { basename, join } from "node:path"
import { DEFAULT_MAX_LATENESS_MS, utcDate } from "@shop/contract"
import { type Lake, LakeIOError, SILVER_BY_EVENT_TYPE } from "@shop/lake"
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
    const prefixes = partitions.map((p) => `${topic}-${p}-`)
    let ids = 0
    for (const table of Object.values(SILVER_BY_EVENT_TYPE)) {
      const files = yield* lake.listFiles(table.name)
      for (const file of files) {
        if (file.date < since || !prefixes.some((p) => basename(file.path).startsWith(p))) continue
        const rows = yield* Effect.tryPromise({
          try: async () =>
            parquetReadObjects({
              file: await Bun.file(join(lake.root, file.path)).arrayBuffer(),
              columns: ["event_id"],
            }),
          catch: (cause) => new LakeIOError({ message: `read ${file.path}: ${String(cause)}`, cause }),
        })
        for (const row of rows) dedup.add(row.event_id as string, file.date)
        ids += rows.length
      }
    }
    return ids
  })
