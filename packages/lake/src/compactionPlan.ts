import type { LakeFile } from "./tableView.ts"

export const DEFAULT_TARGET_ROWS = 100_000
export const DEFAULT_OPEN_DAY_MIN_FILES = 64

export interface PlanOptions {
  /** Only this day (and then any day with two or more small files, open or not). */
  readonly day?: string | undefined
  readonly targetRows: number
  readonly openDayMinFiles: number
}

/** A table-day the plan names: its small files, whether the day is closed, or why it must be skipped. */
export interface PlannedDay {
  readonly date: string
  readonly closed: boolean
  readonly small: ReadonlyArray<LakeFile>
  /** Its last compaction is committed but its staging directory is gone (removed by hand): leave it alone. */
  readonly stuck: boolean
}

/**
 * The plan of a table's compaction (pure): the days, in order, whose small files (under targetRows) are worth
 * merging. A closed day (before `today`, by record time) from 2 small files; the open day only past
 * openDayMinFiles, since writers keep adding to it.
 */
export const planTable = (
  files: ReadonlyArray<LakeFile>,
  stuckDates: ReadonlySet<string>,
  today: string,
  options: PlanOptions,
): Array<PlannedDay> => {
  const byDate = new Map<string, Array<LakeFile>>()
  for (const f of files) {
    if (options.day !== undefined && f.date !== options.day) continue
    const list = byDate.get(f.date)
    if (list === undefined) byDate.set(f.date, [f])
    else list.push(f)
  }
  const plan: Array<PlannedDay> = []
  for (const [date, dayFiles] of [...byDate].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const closed = date < today
    if (stuckDates.has(date)) {
      plan.push({ date, closed, small: [], stuck: true })
      continue
    }
    const small = dayFiles.filter((f) => f.rows < options.targetRows)
    const wanted = options.day !== undefined || closed ? 2 : options.openDayMinFiles
    if (small.length >= wanted) plan.push({ date, closed, small, stuck: false })
  }
  return plan
}
