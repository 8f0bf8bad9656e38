import { expect, test } from "bun:test"
import { planTable } from "../src/compactionPlan.ts"
import type { LakeFile } from "../src/tableView.ts"

const file = (date: string, rows: number, n: number): LakeFile => ({
  table: "silver/page_view",
  date,
  path: `silver/page_view/event_date=${date}/f${n}.parquet`,
  rows,
  bytes: rows * 10,
  sources: ["events.raw-0"],
  maxRecordTs: n,
})

test("the plan: closed days from 2 small files, the open day past its threshold, big files kept, stuck days named", () => {
  const files = [
    file("2026-11-01", 10, 1),
    file("2026-11-01", 20, 2),
    file("2026-11-01", 500, 3), // big: kept as it is
    file("2026-11-02", 10, 4), // one small file: nothing to merge
    file("2026-11-03", 10, 5),
    file("2026-11-03", 10, 6),
    file("2026-11-04", 10, 7), // today, 3 small files, threshold 3
    file("2026-11-04", 10, 8),
    file("2026-11-04", 10, 9),
  ]
  const plan = planTable(files, new Set(["2026-11-03"]), "2026-11-04", { targetRows: 100, openDayMinFiles: 3 })
  expect(plan.map((d) => [d.date, d.closed, d.stuck, d.small.map((f) => f.rows)])).toEqual([
    ["2026-11-01", true, false, [10, 20]],
    ["2026-11-03", true, true, []],
    ["2026-11-04", false, false, [10, 10, 10]],
  ])
  expect(planTable(files, new Set(), "2026-11-04", { targetRows: 100, openDayMinFiles: 4 }).map((d) => d.date)).toEqual(
    ["2026-11-01", "2026-11-03"],
  )
  // One day asked for: any 2 small files, open or not.
  expect(
    planTable(files, new Set(), "2026-11-04", { day: "2026-11-04", targetRows: 100, openDayMinFiles: 64 }).map(
      (d) => d.date,
    ),
  ).toEqual(["2026-11-04"])
})
