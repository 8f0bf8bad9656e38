import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { collectLogs } from "@shop/runtime"
import { Effect, Fiber, Layer } from "effect"
import { Dbt, dbtLoop } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "dbt-loop-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test("the dev loop logs a failed dbt build and tries again, without failing its caller", async () => {
  // A file that is not Parquet in Silver: every build fails on it.
  mkdirSync(join(dir, "silver", "search", "event_date=2026-11-01"), { recursive: true })
  writeFileSync(join(dir, "silver", "search", "event_date=2026-11-01", "broken.parquet"), "not parquet")
  const lines: Array<string> = []
  const failures = () => lines.filter((l) => l.includes("dbt build exited with")).length
  await Effect.runPromise(
    Effect.gen(function* () {
      const loop = yield* Effect.forkChild(dbtLoop(dir, 100))
      while (failures() < 2) {
        if (loop.pollUnsafe() !== undefined) throw new Error(`the loop ended:\n${lines.join("\n")}`)
        yield* Effect.sleep(200)
      }
      yield* Fiber.interrupt(loop)
    }).pipe(Effect.provide(Layer.merge(Dbt.layer, collectLogs(lines)))),
  )
  expect(failures()).toBe(2)
  expect(lines.some((l) => l.includes("broken.parquet"))).toBe(true)
}, 120_000)
