import { expect, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Random } from "@shop/generator"
import { Deduplicator } from "../src/index.ts"

test("remembers every id exactly across growth, and forgets only days past the lateness horizon", () => {
  const random = new Random(1)
  const dedup = new Deduplicator(30 * 86_400_000)
  const ids = Array.from({ length: 200_000 }, () => random.uuid())
  ids.forEach((id, i) => {
    dedup.add(id, i < 100_000 ? "2026-10-01" : "2026-11-20")
  })
  expect(dedup.size).toBe(200_000)
  expect(ids.every((id) => dedup.has(id))).toBe(true)
  // Ids never added are not "seen", even ones differing in a single hex digit.
  const others = ids.slice(0, 1_000).map((id) => id.slice(0, 35) + (id[35] === "0" ? "1" : "0"))
  expect(others.filter((id) => dedup.has(id))).toEqual([])
  dedup.add(ids[5]!, "2026-11-20")
  expect(dedup.size).toBe(200_000)

  // Record time 2026-11-24: 2026-10-01 is beyond 30 days (+1), 2026-11-20 is not.
  dedup.advance(Date.parse("2026-11-24T00:00:00Z"))
  expect(dedup.size).toBe(100_000)
  expect(dedup.has(ids[0]!)).toBe(false)
  expect(dedup.has(ids[150_000]!)).toBe(true)
})

test("with a spill directory: bounded memory, still exact across runs, horizon and close", () => {
  const dir = mkdtempSync(join(tmpdir(), "dedup-spill-"))
  try {
    const random = new Random(2)
    const dedup = new Deduplicator(30 * 86_400_000, { spillDir: dir, hotLimit: 40_000 })
    const ids = Array.from({ length: 200_000 }, () => random.uuid())
    ids.forEach((id, i) => {
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

    // Runs whose newest day is past the horizon are dropped (and their files deleted).
    dedup.advance(Date.parse("2026-11-24T00:00:00Z"))
    expect(dedup.has(ids[0]!)).toBe(false)
    expect(dedup.has(ids[199_999]!)).toBe(true)
    expect(dedup.size).toBeLessThan(200_000)
    expect(dedup.size).toBeGreaterThanOrEqual(100_000)
    dedup.close()
    expect(readdirSync(dir)).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
