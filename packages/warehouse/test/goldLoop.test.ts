import { expect, setDefaultTimeout, test } from "bun:test"
import { collectLogs } from "@shop/runtime"
import { Clock, Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { dailyEvery, realtimeEvery } from "../src/goldLoop.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/** On the TestClock, the log lines (in their plain form) into `lines`. */
const onTestClock = <A, E>(effect: Effect.Effect<A, E>, lines: Array<string> = []) =>
  effect.pipe(Effect.provide(Layer.merge(TestClock.layer(), collectLogs(lines))), Effect.runPromise)

/** The loop has not ended (no failure stopped it); then it is stopped. */
const stillRunningThenStop = (loop: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function* () {
    expect(loop.pollUnsafe()).toBeUndefined()
    yield* Fiber.interrupt(loop)
  })

/** Lets the forked loop run up to its next sleep. */
const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 20 }))

test("right-now rollups: one run every 1 s counted from each start, a failure logged and the next on time", () => {
  const lines: Array<string> = []
  return onTestClock(
    Effect.gen(function* () {
      const runs: Array<number> = []
      // Each run takes 300 ms of clock time; the second fails.
      const refresh = (now: number) =>
        Effect.gen(function* () {
          runs.push(now)
          yield* Effect.sleep(300)
          if (runs.length === 2) return yield* Effect.fail({ message: "disk busy" })
        })
      const loop = yield* Effect.forkChild(realtimeEvery(refresh, 1_000))
      yield* settle
      expect(runs).toEqual([0])
      yield* TestClock.adjust(999)
      expect(runs).toEqual([0])
      yield* TestClock.adjust(1)
      expect(runs).toEqual([0, 1_000])
      yield* TestClock.adjust(300)
      expect(lines).toEqual(["[gold] right-now rollups failed, will retry: disk busy"])
      yield* TestClock.adjust(3_700)
      // Not every 1.3 s (a pause after each run): every 1 s from each start.
      expect(runs).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000])
      yield* stillRunningThenStop(loop)
    }),
    lines,
  )
})

test("right-now rollups: a run longer than the period is followed at once, without a pile-up", () =>
  onTestClock(
    Effect.gen(function* () {
      const runs: Array<number> = []
      const refresh = (now: number) =>
        Effect.gen(function* () {
          runs.push(now)
          yield* Effect.sleep(runs.length === 1 ? 3_500 : 100)
        })
      const loop = yield* Effect.forkChild(realtimeEvery(refresh, 1_000))
      yield* settle
      yield* TestClock.adjust(5_000)
      expect(runs).toEqual([0, 3_500, 4_500])
      yield* Fiber.interrupt(loop)
    }),
  ))

test("daily facts every 5 s after the previous run, compaction every 60 s; a failed compaction is retried", () => {
  const lines: Array<string> = []
  return onTestClock(
    Effect.gen(function* () {
      const daily: Array<number> = []
      const compactions: Array<number> = []
      const refreshDaily = Effect.gen(function* () {
        daily.push(yield* Clock.currentTimeMillis)
        // A daily run takes 1 s of clock time.
        yield* Effect.sleep(1_000)
        return { changedDays: daily.length === 1 ? ["2026-12-01"] : [], written: { orders_daily: 1 } }
      })
      const compact = Effect.gen(function* () {
        compactions.push(yield* Clock.currentTimeMillis)
        if (compactions.length === 1) return yield* Effect.fail({ message: "swap lock busy" })
      })
      const loop = yield* Effect.forkChild(dailyEvery(refreshDaily, compact, 5_000, 60_000))
      yield* settle
      yield* TestClock.adjust(1_000)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^\[gold\] recomputed 2026-12-01 in \d+ ms: \{"orders_daily":1\}$/)
      yield* TestClock.adjust(11_000)
      // Spaced: each run starts 5 s after the previous one ended (6 s apart), not every 5 s.
      expect(daily).toEqual([0, 6_000, 12_000])
      expect(compactions).toEqual([])
      yield* TestClock.adjust(49_000)
      // The first run that ends 60 s or more after the start compacts (the 11th ends at 61 s).
      expect(daily.at(-1)).toBe(60_000)
      expect(compactions).toEqual([61_000])
      expect(lines.at(-1)).toBe("[compact] failed, will retry: swap lock busy")
      yield* TestClock.adjust(61_000)
      expect(compactions).toEqual([61_000, 121_000])
      yield* stillRunningThenStop(loop)
    }),
    lines,
  )
})

test("a failed daily run ends the gold loop (as before: its caller decides)", () =>
  onTestClock(
    Effect.gen(function* () {
      let runs = 0
      const refreshDaily = Effect.suspend(() =>
        ++runs === 2
          ? Effect.fail({ message: "Silver unreadable" })
          : Effect.succeed({ changedDays: [] as Array<string>, written: {} }),
      )
      const loop = yield* Effect.forkChild(dailyEvery(refreshDaily, Effect.void, 5_000, 60_000))
      yield* settle
      yield* TestClock.adjust(5_000)
      const exit = yield* Fiber.await(loop)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(runs).toBe(2)
    }),
  ))
