import { existsSync, linkSync, readdirSync, rmSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { exchangeDirs, fsyncDir } from "@shop/fsio"
import { Effect } from "effect"
import { type CompactionContext, note } from "./CompactionContext.ts"
import {
  type CompactionEntry,
  dayDir,
  entriesInEffect,
  type LakeFile,
  readCompactionLog,
  stagingRoot,
} from "./tableView.ts"

/*
 * The swap of a compaction: under the table's exclusive swap lock, the files it keeps are linked beside its
 * outputs, the compaction is appended to the table's log (its commit) and the staging and live directories are
 * exchanged (the moment readers switch); and the recovery of a run that died between those steps.
 */

/**
 * Links every Parquet file of the live day directory that the compaction does not replace (files writers
 * committed since it was planned, earlier big files) into the staging directory, so the exchange keeps them.
 * Stale links from an earlier attempt are dropped first. Runs under the exclusive swap lock.
 */
const stageKeptFiles = (live: string, staging: string, entry: CompactionEntry) => {
  const outputs = new Set(entry.outputs.map((f) => basename(f.path)))
  for (const f of readdirSync(staging)) if (!outputs.has(f)) rmSync(join(staging, f), { force: true })
  const replaced = new Set(entry.replaced.map((p) => basename(p)))
  for (const f of readdirSync(live)) {
    if (f.endsWith(".parquet") && !replaced.has(f) && !outputs.has(f)) linkSync(join(live, f), join(staging, f))
  }
  fsyncDir(staging)
}

/** The exchange: one rename(2) makes the new set visible to every reader at once. */
const swapIn = (live: string, staging: string) => {
  exchangeDirs(live, staging)
  fsyncDir(dirname(live))
  fsyncDir(dirname(staging))
}

/**
 * Commits and swaps in a merged day, unless its small files changed meanwhile (then false, nothing committed).
 * Everything under the lock is synchronous, so a writer in this same process never waits on it.
 */
export const swapDay = (
  ctx: CompactionContext,
  table: string,
  date: string,
  staging: string,
  small: ReadonlyArray<LakeFile>,
  entry: CompactionEntry,
  append: (entry: CompactionEntry) => void,
  onLogged: () => void,
) =>
  Effect.gen(function* () {
    const lock = yield* ctx.swapLock(table)
    return yield* ctx.io(`swap ${table} ${date}`, () => {
      try {
        const live = dayDir(ctx.root, table, date)
        const present = new Set(readdirSync(live))
        if (!small.every((f) => present.has(basename(f.path)))) return false
        stageKeptFiles(live, staging, entry)
        ctx.at("staged")
        append(entry)
        onLogged()
        ctx.at("logged")
        swapIn(live, staging)
        ctx.at("exchanged")
        return true
      } finally {
        lock.release()
      }
    })
  })

/**
 * Finishes (rolls forward) or clears what an interrupted compaction of this table left in staging; returns
 * the table's compaction log, and how many staging directories it handled.
 */
export const recoverTable = Effect.fnUntraced(function* (ctx: CompactionContext, table: string) {
  const { root, io, writeOptions } = ctx
  let recovered = 0
  const compactions = yield* io("read compaction log", () => readCompactionLog(root, table, false, writeOptions))
  const dir = stagingRoot(root, table)
  if (!existsSync(dir)) return { compactions, recovered }
  const state = new Map(entriesInEffect(root, compactions.all).map((s) => [s.entry.id, s]))
  for (const id of readdirSync(dir)) {
    const staging = join(dir, id)
    const s = state.get(id)
    if (s !== undefined && !s.inEffect) {
      // Committed but not swapped in: finish it, keeping whatever writers committed since.
      const lock = yield* ctx.swapLock(table)
      yield* io(`finish compaction ${id}`, () => {
        try {
          const live = dayDir(root, table, s.entry.date)
          stageKeptFiles(live, staging, s.entry)
          swapIn(live, staging)
        } finally {
          lock.release()
        }
      })
      yield* note(`${table} ${s.entry.date}: finished an interrupted compaction`)
    }
    // Never committed, or swapped in already (then it holds the replaced files): remove it.
    yield* io("remove staging", () => rmSync(staging, { recursive: true, force: true }))
    recovered++
  }
  return { compactions, recovered }
})
