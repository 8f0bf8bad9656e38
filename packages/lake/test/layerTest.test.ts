import { expect, setDefaultTimeout, test } from "bun:test"
import { existsSync } from "node:fs"
import { Effect } from "effect"
import { Lake } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

test("Lake.layerTest: a real lake in a temp directory of its own, gone when its scope closes", async () => {
  const seen = await Effect.runPromise(
    Effect.gen(function* () {
      const lake = yield* Lake
      const other = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* Lake
        }),
        Lake.layerTest,
      )
      return {
        root: lake.root,
        other: other.root,
        existed: existsSync(lake.root),
        files: yield* lake.listFiles("silver/page_view"),
      }
    }).pipe(Effect.provide(Lake.layerTest)),
  )
  expect(seen.existed).toBe(true)
  expect(seen.other).not.toBe(seen.root)
  expect(seen.files).toEqual([])
  expect(existsSync(seen.root)).toBe(false)
  expect(existsSync(seen.other)).toBe(false)
})
