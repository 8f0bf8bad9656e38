import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
}

/** Percentile of an ascending-sorted sample (nearest rank). */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

/** Peak resident set size of this process so far, in MB. */
export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024

const format = (n: number): string =>
  Number.isInteger(n) || Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2)

/** Prints the figures as a table and keeps them as JSON under bench/results/ for comparison between commits. */
export const report = (bench: string, figures: ReadonlyArray<Figure>, context: Record<string, unknown>): void => {
  const width = Math.max(...figures.map((f) => f.name.length))
  console.log(`\n${bench}`)
  for (const f of figures) console.log(`  ${f.name.padEnd(width)}  ${format(f.value).padStart(12)} ${f.unit}`)
  const dir = resolve(import.meta.dir, "../../../bench/results")
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, "-")
  const file = join(dir, `${bench}-${stamp}.json`)
  let commit = "unknown"
  try {
    commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim() || commit
  } catch {}
  writeFileSync(file, JSON.stringify({ bench, at: new Date().toISOString(), commit, context, figures }, null, 2))
  console.log(`  (saved ${file})`)
}

/**
 * Follows a child's peak RSS (VmHWM in /proc) until `stop()`. A child's own rusage maxRSS is not usable: Linux
 * carries the parent's high-water mark over exec when the child was spawned with a shared address space.
 */
export const watchPeakRss = (pid: number) => {
  let peakKb = 0
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
      if (m !== null) peakKb = Math.max(peakKb, Number(m[1]))
    } catch {
      // The process has exited; keep the last sample.
    }
  }
  sample()
  const timer = setInterval(sample, 50)
  return {
    /** Current resident set size in MB (0 once the process is gone). */
    rssMb: () => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
        return m === null ? 0 : Number(m[1]) / 1024
      } catch {
        return 0
      }
    },
    stop: () => {
      clearInterval(timer)
      sample()
      return peakKb / 1024
    },
  }
}
