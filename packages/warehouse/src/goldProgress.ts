import { existsSync, readFileSync } from "node:fs"
import type { CommitProgress } from "@shop/lake"

/** How far the gold jobs have read each commit log (see `Lake.changedDays`). */
export type GoldProgress = CommitProgress

export const readProgress = (path: string): GoldProgress =>
  existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as GoldProgress) : {}
