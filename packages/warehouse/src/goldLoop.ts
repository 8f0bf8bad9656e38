import { Effect } from "effect"
import { refreshDailyFacts, refreshRealtime } from "./GoldJobs.ts"

/**
 * Refreshes the "right now" rollups and the daily facts (changed days only) every `intervalMs`, logging the
 * days it recomputed. Runs until interrupted.
 */
export const goldLoop = (root: string, intervalMs: number, log: (line: string) => void) =>
  Effect.gen(function* () {
    for (;;) {
      const started = performance.now()
      yield* refreshRealtime(root, Date.now())
      const result = yield* refreshDailyFacts(root)
      if (result.changedDays.length > 0) {
        log(
          `[gold] recomputed ${result.changedDays.join(", ")} in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(result.written)}`,
        )
      }
      yield* Effect.sleep(intervalMs)
    }
  })
