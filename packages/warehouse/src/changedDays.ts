import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { CommitLog, lakeLayout } from "@shop/lake"

/** How far the gold jobs have read each commit log: entries processed per `<topic>/<partition>`. */
export type GoldProgress = Record<string, number>

export const readProgress = (path: string): GoldProgress =>
  existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as GoldProgress) : {}

/**
 * The days whose Silver changed since `progress`, read from the lake's commit logs (read-only: the stream
 * processor owns them). A late event names its own, older day here, so that day is recomputed.
 */
export const changedDays = (root: string, progress: GoldProgress) => {
  const days = new Set<string>()
  const next: GoldProgress = { ...progress }
  const commits = lakeLayout.commitsDir(root)
  if (!existsSync(commits)) return { days, next }
  for (const topic of readdirSync(commits)) {
    for (const file of readdirSync(join(commits, topic)).filter((f) => f.endsWith(".log"))) {
      const key = `${topic}/${file.slice(0, -4)}`
      const entries = new CommitLog(join(commits, topic, file), true).all
      for (const entry of entries.slice(progress[key] ?? 0)) {
        for (const f of entry.files) if (f.table.startsWith("silver/")) days.add(f.date)
      }
      next[key] = entries.length
    }
  }
  return { days, next }
}
