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
