#!/usr/bin/env bun
/**
 * Disk-full chaos (issue 12, case 1): the stream processor's lake on a small tmpfs that fills up in the middle
 * of a batch, at a different point every round; then space is freed and the processor restarted. Afterwards
 * every committed file must be whole (DuckDB and pyarrow read it, rows as the commit log says) and Silver exact
 * (distinct event_ids per event type equal an independent count from the input JSONL, nothing doubled).
 *
 *   bun scripts/chaos/disk-full.ts [--rounds 20] [--events 40000] [--seed N] [--size-mb 40] [--batch-records 400] [--keep]
 *
 * Per round: produce the round's share of the input; fill the tmpfs with a ballast file so that a random number
 * of bytes (up to about what the round will write) is left; run `bun run pipeline -- --available-now` (it must
 * either finish or stop with ONE clear disk-full line, no stack trace); delete the ballast; restart (it must
 * finish); check the committed files with pyarrow. Needs root (mount); skips with a message otherwise.
 * The broker's log lives outside the tmpfs ($DATA_DIR/broker is a symlink), so the wall is hit by the lake's
 * writes (and the stream's metrics and the gold step after it), not by `produce`.
 * Exit 0: all rounds clean. Exit 1: any failure, each printed on one line.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { ensurePythonEnv } from "../../packages/python-env/src/index.ts"

const repo = resolve(import.meta.dir, "../..")
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    events: { type: "string", default: "40000" },
    seed: { type: "string" },
    "size-mb": { type: "string", default: "40" },
    "batch-records": { type: "string", default: "400" },
    keep: { type: "boolean", default: false },
  },
})
const ROUNDS = Number(args.rounds)
const EVENTS = Number(args.events)
const SEED = args.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(args.seed)
const SIZE_MB = Number(args["size-mb"])
const BATCH_RECORDS = Number(args["batch-records"])

/** The part of @duckdb/node-api used here (resolved from packages/warehouse, where it is a dependency). */
interface DuckDB {
  readonly DuckDBInstance: {
    create(path: string): Promise<{
      connect(): Promise<{
        runAndReadAll(sql: string): Promise<{ getRowObjectsJson(): Array<Record<string, unknown>> }>
        closeSync(): void
      }>
    }>
  }
}

const say = (line: string) => process.stdout.write(`${line}\n`)

if (process.platform !== "linux" || process.getuid?.() !== 0) {
  say("disk-full chaos: SKIPPED: it mounts a tmpfs, which needs root on Linux (CI runs as root); nothing was tested")
  process.exit(0)
}

// A seeded random for the fill points, so a failing round can be replayed with --seed.
let rng = SEED * 2654435761 + 1
const random = () => {
  rng = (rng * 1103515245 + 12345) % 2 ** 31
  return rng / 2 ** 31
}

const work = mkdtempSync(join(tmpdir(), "chaos-disk-full-"))
const mnt = join(work, "tmpfs")
const data = join(mnt, "data")
const ballast = join(mnt, "ballast")
let mounted = false
const failures: Array<string> = []
const fail = (line: string) => {
  failures.push(line)
  say(`  FAIL ${line}`)
}

const cleanup = () => {
  if (mounted) {
    Bun.spawnSync(["umount", mnt])
    mounted = false
  }
  if (!args.keep) rmSync(work, { recursive: true, force: true })
}
process.on("SIGINT", () => {
  cleanup()
  process.exit(130)
})

const sh = (cmd: ReadonlyArray<string>, env: Record<string, string | undefined> = process.env) => {
  const p = Bun.spawnSync([...cmd], { cwd: repo, env, stdout: "pipe", stderr: "pipe" })
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() }
}
const must = (what: string, r: { code: number | null; stderr: string }) => {
  if (r.code !== 0)
    throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`)
}
const freeBytes = () => {
  const s = statfsSync(mnt)
  return s.bavail * s.bsize
}
const usedBytes = () => {
  const s = statfsSync(mnt)
  return (s.blocks - s.bfree) * s.bsize
}

const env = { ...process.env, DATA_DIR: data, LOG_LEVEL: "info" }
const pipeline = () =>
  sh(
    [
      "bun",
      "run",
      "--silent",
      "pipeline",
      "--",
      "--available-now",
      "--batch-records",
      String(BATCH_RECORDS),
      "--batch-ms",
      "200",
    ],
    env,
  )

/** Where a disk-full line says the wall was hit. */
const placeOf = (path: string) =>
  path.includes("/_lake/tmp/")
    ? `parquet ${path.split(".").at(-3) ?? "?"}`
    : path.includes("/_lake/commits/")
      ? "commit log"
      : path.includes("/_metrics/")
        ? "metrics"
        : path.includes("/_dedup/")
          ? "dedup run"
          : path.includes("/gold/")
            ? "gold"
            : path.replace(data, "$DATA_DIR")

try {
  mkdirSync(mnt)
  const mount = sh(["mount", "-t", "tmpfs", "-o", `size=${SIZE_MB}m`, "tmpfs", mnt])
  if (mount.code !== 0) throw new Error(`mount -t tmpfs failed: ${mount.stderr.trim()} (root, but no CAP_SYS_ADMIN?)`)
  mounted = true
  mkdirSync(data)
  mkdirSync(join(work, "broker"))
  symlinkSync(join(work, "broker"), join(data, "broker"))

  const python = ensurePythonEnv(".venv", "requirements-test.txt")
  const checker = join(import.meta.dir, "disk_full_check.py")
  // DuckDB as the warehouse package loads it (a second independent reader beside pyarrow).
  const { DuckDBInstance } = (await import(
    createRequire(join(repo, "packages/warehouse/package.json")).resolve("@duckdb/node-api")
  )) as DuckDB

  say(
    `disk-full chaos: ${ROUNDS} rounds, ${EVENTS} events, seed ${SEED}, tmpfs ${SIZE_MB} MB at ${mnt}, batches of ${BATCH_RECORDS}`,
  )
  const input = join(work, "input.jsonl")
  must(
    "generate",
    sh([
      "bun",
      "run",
      "--silent",
      "generate",
      "--",
      "--max-events",
      String(EVENTS),
      "--seed",
      String(SEED),
      "--backfill-days",
      "2",
      "--end",
      "2026-11-20T00:00:00Z",
      "--out",
      input,
    ]),
  )
  const lines = readFileSync(input, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
  const chunks: Array<string> = []
  const per = Math.ceil(lines.length / ROUNDS)
  for (let r = 0; r < ROUNDS; r++) {
    const path = join(work, `chunk-${String(r).padStart(3, "0")}.jsonl`)
    writeFileSync(path, `${lines.slice(r * per, (r + 1) * per).join("\n")}\n`)
    chunks.push(path)
  }

  const expectFor = (upTo: number) => {
    const out = join(work, `expected-${upTo}.json`)
    const r = sh([python, checker, "expect", ...chunks.slice(0, upTo + 1)])
    must("python expect", r)
    writeFileSync(out, r.stdout)
    return out
  }
  const pyCheck = (expected: string) => {
    const r = sh([python, checker, "check", data, expected])
    const result = (() => {
      try {
        return JSON.parse(r.stdout) as {
          files: number
          rows_read: number
          bronze: number
          silver: Record<string, { rows: number; distinct: number; expected: number }>
          problems: Array<string>
        }
      } catch {
        throw new Error(`the pyarrow check crashed: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`)
      }
    })()
    return result
  }

  let estimate = 0
  const hits: Array<string> = []
  for (let round = 0; round < ROUNDS; round++) {
    must("produce", sh(["bun", "run", "--silent", "produce", "--", "--file", chunks[round]!], env))
    const before = usedBytes()
    // Leave a random amount of room, up to about what this round will write: the wall comes at a random point.
    const guess = estimate > 0 ? estimate : statSync(chunks[round]!).size
    const room = 4096 + Math.floor(random() * guess)
    const fill = Math.max(0, freeBytes() - room)
    must("fallocate", sh(["fallocate", "-l", String(fill), ballast]))
    const left = freeBytes()
    const first = pipeline()
    const firstLines = `${first.stderr}\n${first.stdout}`.split("\n").filter((l) => l.trim().length > 0)
    const errorLines = firstLines.filter((l) => l.startsWith("error:"))
    const stack = firstLines.filter((l) => /^\s+at .*(\(|\s)\S+:\d+:\d+\)?$/.test(l) || /^\s*\d+ \|/.test(l))
    let where = "no wall (finished in the room left)"
    if (first.code !== 0) {
      const line = errorLines.at(-1) ?? firstLines.at(-1) ?? "(no output)"
      const m = /disk full .*? (\S+) \((ENOSPC|EDQUOT)\)/.exec(line)
      const duck = /No space left on device/.test(line)
      if (m === null && !duck) fail(`round ${round}: the processor failed, but not with a disk-full line: ${line}`)
      if (errorLines.length !== 1)
        fail(`round ${round}: ${errorLines.length} error lines, expected one: ${errorLines.join(" || ")}`)
      if (stack.length > 0) fail(`round ${round}: a stack trace was printed: ${stack.slice(0, 2).join(" | ")}`)
      const offsets = /nothing was committed for (\S+ offsets \d+\.\.\d+)/.exec(line)?.[1]
      where =
        m !== null
          ? `${placeOf(m[1]!)}${offsets === undefined ? "" : ` (${offsets} not committed)`}`
          : duck
            ? "duckdb (gold)"
            : "an unclear failure"
      if (m !== null || duck) hits.push(m !== null ? placeOf(m[1]!).split(" ")[0]! : "gold")
      if (round === 0) say(`  the one line: ${line}`)
    }
    unlinkSync(ballast)
    const second = pipeline()
    if (second.code !== 0) {
      fail(`round ${round}: the restart after freeing space failed: ${`${second.stderr}`.trim().split("\n").at(-1)}`)
      break
    }
    const resumed = /removed (\d+) uncommitted files, (\d+) temp files/.exec(second.stderr)
    estimate = Math.max(64 * 1024, usedBytes() - before)
    const result = pyCheck(expectFor(round))
    for (const p of result.problems) fail(`round ${round}: ${p}`)
    const silverRows = Object.values(result.silver).reduce((s, t) => s + t.distinct, 0)
    say(
      `round ${String(round + 1).padStart(2)}/${ROUNDS}: ${(left / 1024).toFixed(0).padStart(6)} KiB free -> ${where}; ` +
        `restart removed ${resumed?.[1] ?? "?"} uncommitted + ${resumed?.[2] ?? "?"} temp files; ` +
        `${result.files} files, bronze ${result.bronze}, silver ${silverRows} ids ok`,
    )
  }

  // Final: every committed file whole for DuckDB too, and Silver exact by a glob (what every reader does).
  const expected = JSON.parse(readFileSync(expectFor(ROUNDS - 1), "utf8")) as {
    records: number
    by_type: Record<string, number>
  }
  const final = pyCheck(join(work, `expected-${ROUNDS - 1}.json`))
  for (const p of final.problems) if (!failures.some((f) => f.endsWith(p))) fail(`final: ${p}`)
  const db = await (await DuckDBInstance.create(":memory:")).connect()
  let duckFiles = 0
  let duckRows = 0
  const commits = join(data, "_lake", "commits", "events.raw")
  for (const log of readdirSync(commits).filter((f) => f.endsWith(".log"))) {
    for (const line of readFileSync(join(commits, log), "utf8").split("\n").filter(Boolean)) {
      const entry = JSON.parse(line.slice(9)) as { files: Array<{ path: string; rows: number }> }
      for (const f of entry.files) {
        try {
          const [r] = (
            await db.runAndReadAll(`select count(*)::INTEGER as n from read_parquet('${join(data, f.path)}')`)
          ).getRowObjectsJson()
          if (r!.n !== f.rows) fail(`duckdb: ${f.path}: ${r!.n} rows, the commit log says ${f.rows}`)
          duckRows += Number(r!.n)
          duckFiles++
        } catch (e) {
          fail(`duckdb cannot read ${f.path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`)
        }
      }
    }
  }
  for (const [type, want] of Object.entries(expected.by_type)) {
    const [r] = (
      await db.runAndReadAll(
        `select count(*)::INTEGER as n, count(distinct event_id)::INTEGER as ids
         from read_parquet('${data}/silver/${type}/*/*.parquet')`,
      )
    ).getRowObjectsJson()
    if (r!.ids !== want || r!.n !== want)
      fail(`duckdb: silver/${type}: ${r!.n} rows, ${r!.ids} distinct ids; the input has ${want}`)
  }
  db.closeSync()
  const silverIds = Object.values(final.silver).reduce((s, t) => s + t.distinct, 0)
  const byPlace = [...new Set(hits)].map((h) => `${h} ${hits.filter((x) => x === h).length}`).join(", ")
  say(
    `disk-full chaos: ${failures.length === 0 ? "OK" : `FAILED (${failures.length})`}: ${ROUNDS} rounds, ENOSPC hit in ${hits.length} ` +
      `(${byPlace || "none"}); ${duckFiles} committed files read by DuckDB (${duckRows} rows) and pyarrow (${final.rows_read} rows); ` +
      `bronze ${final.bronze}/${expected.records} records, silver ${silverIds}/${Object.values(expected.by_type).reduce((a, b) => a + b, 0)} event_ids ` +
      `over ${Object.keys(expected.by_type).length} types, none doubled (seed ${SEED})`,
  )
  if (hits.length < Math.ceil(ROUNDS / 2))
    fail(`ENOSPC was hit in only ${hits.length} of ${ROUNDS} rounds: the chaos did not test much`)
} catch (e) {
  fail(`disk-full chaos: ${e instanceof Error ? e.message : String(e)}`)
} finally {
  cleanup()
}
process.exit(failures.length === 0 ? 0 : 1)
