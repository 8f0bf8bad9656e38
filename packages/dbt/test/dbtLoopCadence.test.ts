import { expect, setDefaultTimeout, test } from "bun:test"
import { collectLogs } from "@shop/runtime"
import { Clock, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Dbt, DbtFailed, dbtLoop, hasPython } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/** A dbt whose builds take 10 s of clock time; the second fails. */
const fakeDbt = (builds: Array<number>) =>
  Layer.mock(Dbt, {
    run: (_args, _dir, onLine) =>
      Effect.gen(function* () {
        builds.push(yield* Clock.currentTimeMillis)
        onLine("\x1b[32m1 of 2 OK created sql view model main.stg_orders\x1b[0m")
        onLine("Completed with 1 error")
        yield* Effect.sleep(10_000)
        if (builds.length === 2) return yield* new DbtFailed({ message: "dbt build exited with 1", exitCode: 1 })
        return { durationMs: 10_000 }
      }),
  })

const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 20 }))

test.skipIf(!hasPython())(
  "dbt loop: first build after min(interval, 30 s), then each one interval after the previous ended; a failure is logged and retried",
  () => {
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const builds: Array<number> = []
      const loop = yield* Effect.forkChild(dbtLoop("/nonexistent", 60_000).pipe(Effect.provide(fakeDbt(builds))))
      yield* settle
      yield* TestClock.adjust(29_999)
      expect(builds).toEqual([])
      yield* TestClock.adjust(1)
      expect(builds).toEqual([30_000])
      yield* TestClock.adjust(10_000)
      expect(lines).toEqual(["[dbt] Completed with 1 error", "[dbt] build ok in 10.0 s; marts in gold/dbt/"])
      yield* TestClock.adjust(150_000)
      // 30 s, then 40 s + 60 s, 110 s + 60 s: spaced after each build, not every 60 s.
      expect(builds).toEqual([30_000, 100_000, 170_000])
      expect(lines).toContain("[dbt] dbt build exited with 1; the marts keep their last good files, retrying in 60 s")
      expect(loop.pollUnsafe()).toBeUndefined()
      yield* Fiber.interrupt(loop)
    }).pipe(Effect.provide(Layer.merge(TestClock.layer(), collectLogs(lines))), Effect.runPromise)
  },
)

test.skipIf(!hasPython())("dbt loop: firstAfterMs sets the first build (dev after a backfilled history)", () =>
  Effect.gen(function* () {
    const builds: Array<number> = []
    const loop = yield* Effect.forkChild(
      dbtLoop("/nonexistent", 300_000, { firstAfterMs: 1_000 }).pipe(Effect.provide(fakeDbt(builds))),
    )
    yield* settle
    yield* TestClock.adjust(1_000)
    expect(builds).toEqual([1_000])
    yield* TestClock.adjust(310_000)
    expect(builds).toEqual([1_000, 311_000])
    yield* Fiber.interrupt(loop)
  }).pipe(Effect.provide(TestClock.layer()), Effect.runPromise),
)

// Seen on a first run from a fresh clone: dbt's first build (after installing dbt/.venv) read Silver while the
// gold loop's first compaction merged the history's files, failed with `IO Error: Cannot open file
// ".../silver/page_view/.../events.raw-0-...parquet": No such file or directory`, and the marts waited 5 minutes.
test.skipIf(!hasPython())(
  "dbt loop: a build that lost a lake file to compaction is built again 5 s later, not an interval later",
  () => {
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const builds: Array<number> = []
      const racing = Layer.mock(Dbt, {
        run: (_args, _dir, onLine) =>
          Effect.gen(function* () {
            builds.push(yield* Clock.currentTimeMillis)
            yield* Effect.sleep(10_000)
            if (builds.length === 1) {
              onLine(
                '  IO Error: Cannot open file "/d/silver/page_view/event_date=2026-11-09/events.raw-0-00000000000000000000-00000000000000034181.parquet": No such file or directory',
              )
              return yield* new DbtFailed({ message: "dbt build exited with 1", exitCode: 1 })
            }
            return { durationMs: 10_000 }
          }),
      })
      const loop = yield* Effect.forkChild(
        dbtLoop("/nonexistent", 300_000, { firstAfterMs: 1_000 }).pipe(Effect.provide(racing)),
      )
      yield* settle
      yield* TestClock.adjust(1_000)
      yield* TestClock.adjust(10_000)
      yield* TestClock.adjust(5_000)
      expect(builds).toEqual([1_000, 16_000])
      yield* TestClock.adjust(10_000)
      expect(lines).toContain(
        "[dbt] a lake file was merged away by compaction while dbt read it (dbt build exited with 1); building again in 5 s",
      )
      expect(lines.at(-1)).toBe("[dbt] build ok in 10.0 s; marts in gold/dbt/")
      // Then the usual cadence: an interval after the build that succeeded.
      yield* TestClock.adjust(300_000)
      expect(builds).toEqual([1_000, 16_000, 326_000])
      yield* Fiber.interrupt(loop)
    }).pipe(Effect.provide(Layer.merge(TestClock.layer(), collectLogs(lines))), Effect.runPromise)
  },
)
