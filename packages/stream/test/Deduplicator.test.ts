import { expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Random } from "@shop/generator"
import { Deduplicator } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

test("remembers every id exactly across growth; evicts only whole days, least recently used first", () => {
  const random = new Random(1)
  const dedup = new Deduplicator({ maxLoadedDays: 1 })
  const ids = Array.from({ length: 200_000 }, () => random.uuid())
  dedup.markLoaded("2026-10-01")
  ids.forEach((id, i) => {
    if (i === 100_000) dedup.markLoaded("2026-11-20")
    dedup.add(id, i < 100_000 ? "2026-10-01" : "2026-11-20")
  })
  expect(dedup.size).toBe(200_000)
  expect(ids.every((id) => dedup.has(id))).toBe(true)
  // Ids never added are not "seen", even ones differing in a single hex digit.
  const others = ids.slice(0, 1_000).map((id) => id.slice(0, 35) + (id[35] === "0" ? "1" : "0"))
  expect(others.filter((id) => dedup.has(id))).toEqual([])
  dedup.add(ids[5]!, "2026-11-20")
  expect(dedup.size).toBe(200_000)

  // One day may stay: 2026-10-01 was used least recently.
  expect(dedup.needs(["2026-11-20"])).toEqual([])
  dedup.evictIdleDays()
  expect(dedup.isLoaded("2026-10-01")).toBe(false)
  expect(dedup.needs(["2026-10-01", "2026-11-20"])).toEqual(["2026-10-01"])
  expect(dedup.size).toBe(100_000)
  expect(dedup.has(ids[150_000]!)).toBe(true)
}, 60_000)

test("dates far from today (years 0050 and 9999) are days like any other", () => {
  const dedup = new Deduplicator()
  const random = new Random(3)
  const [a, b, c] = [random.uuid(), random.uuid(), random.uuid()]
  for (const date of ["0050-01-01", "9999-12-31", "2026-11-24"]) dedup.markLoaded(date)
  dedup.add(a!, "0050-01-01")
  dedup.add(b!, "9999-12-31")
  dedup.add(c!, "2026-11-24")
  expect([a, b, c].map((id) => dedup.has(id!))).toEqual([true, true, true])
  expect(dedup.needs(["0050-01-01", "9999-12-31", "2150-01-01"])).toEqual(["2150-01-01"])
})

test("with a spill directory: bounded memory, still exact across runs, eviction and close", () => {
  const dir = mkdtempSync(join(tmpdir(), "dedup-spill-"))
  try {
    const random = new Random(2)
    const dedup = new Deduplicator({ spillDir: dir, hotLimit: 40_000, maxLoadedDays: 1 })
    const ids = Array.from({ length: 200_000 }, () => random.uuid())
    dedup.markLoaded("2026-10-01")
    ids.forEach((id, i) => {
      if (i === 100_000) dedup.markLoaded("2026-11-20")
      dedup.add(id, i < 100_000 ? "2026-10-01" : "2026-11-20")
    })
    // Five runs of 40k on disk, nothing left in memory.
    expect(readdirSync(dir).length).toBe(5)
    expect(dedup.size).toBe(200_000)
    expect(ids.every((id) => dedup.has(id))).toBe(true)
    const others = Array.from({ length: 20_000 }, () => random.uuid())
    expect(others.filter((id) => dedup.has(id))).toEqual([])
    const neighbours = ids.slice(0, 2_000).map((id) => id.slice(0, 35) + (id[35] === "0" ? "1" : "0"))
    expect(neighbours.filter((id) => dedup.has(id))).toEqual([])
    // Adding an id that sits in a run does not count it twice.
    dedup.add(ids[7]!, "2026-11-20")
    dedup.add(ids[150_000]!, "2026-11-20")
    expect(dedup.size).toBe(200_000)

    // Evicting 2026-10-01 drops the runs that hold only its ids; the run that mixes both days stays.
    dedup.evictIdleDays()
    expect(dedup.isLoaded("2026-10-01")).toBe(false)
    expect(dedup.has(ids[199_999]!)).toBe(true)
    expect(readdirSync(dir).length).toBe(3)
    dedup.close()
    expect(readdirSync(dir)).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
