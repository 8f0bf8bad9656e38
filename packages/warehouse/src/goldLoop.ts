import { ALL_TABLES, compactLake } from "@shop/lake"
import { Effect } from "effect"
import { refreshDailyFacts, refreshRealtime } from "./GoldJobs.ts"

/** How often the loop compacts small files (closed days, and the open day past its file threshold). */
export const COMPACT_EVERY_MS = 60_000

/**
 * Refreshes the "right now" rollups and the daily facts (changed days only) every `intervalMs`, logging the
 * days it recomputed, and compacts the lake's small files every `compactEveryMs`. Compaction changes no number,
 * so it makes no day "changed". Runs until interrupted.
 */
export const goldLoop = (
  root: string,
  intervalMs: number,
  log: (line: string) => void,
  compactEveryMs = COMPACT_EVERY_MS,
) =>
  Effect.gen(function* () {
    let lastCompaction = Date.now()
    for (;;) {
      const started = performance.now()
      yield* refreshRealtime(root, Date.now())
      const result = yield* refreshDailyFacts(root)
      if (result.changedDays.length > 0) {
        log(
          `[gold] recomputed ${result.changedDays.join(", ")} in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(result.written)}`,
        )
      }
      if (Date.now() - lastCompaction >= compactEveryMs) {
        lastCompaction = Date.now()
        // A failed compaction leaves the lake as it was; the gold loop goes on and tries again next time.
        yield* compactLake(root, { tables: ALL_TABLES, log }).pipe(
          Effect.catch((e) => Effect.sync(() => log(`[compact] failed, will retry: ${e.message}`))),
        )
      }
      yield* Effect.sleep(intervalMs)
    }
  })
