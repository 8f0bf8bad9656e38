import { mkdirSync, writeFileSync } from "node:fs"
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
