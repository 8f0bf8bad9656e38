import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * Two `bun run dbt -- build` at once on one data directory (a person's build while `bun run dev`'s runs): dbt's
 * DuckDB file takes one writer, so before the lock the second died with exit 2 and a 234-line Python traceback
 * ("Could not set lock on file ... Conflicting lock is held"). Now the second says in one line whose run it
 * waits for, then builds; both succeed and neither prints a traceback.
 */
const dataDir = mkdtempSync(join(tmpdir(), "dbt-serialize-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const main = join(import.meta.dir, "..", "src", "main.ts")

const build = () => {
  const proc = Bun.spawn(["bun", main, "build"], {
    env: { ...process.env, DATA_DIR: dataDir },
    stdout: "pipe",
    stderr: "pipe",
  })
  return {
    proc,
    done: Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
  }
}

test("a second dbt build waits for the first with one line, and both succeed", async () => {
  const first = build()
  // The second starts once the first holds the lock (its dbt is starting or running).
  for (const deadline = Date.now() + 60_000; !existsSync(join(dataDir, "dbt", "dbt.pid")); ) {
    if (Date.now() > deadline || first.proc.exitCode !== null) throw new Error("the first build never took the lock")
    await Bun.sleep(20)
  }
  const second = build()
  const [[out1, err1, code1], [out2, err2, code2]] = await Promise.all([first.done, second.done])
  const all2 = `${out2}\n${err2}`
  expect({ code1, code2 }).toEqual({ code1: 0, code2: 0 })
  const waiting = all2.split("\n").filter((l) => l.includes("waiting for the dbt run of pid"))
  expect(waiting).toEqual([
    `dbt: waiting for the dbt run of pid ${first.proc.pid} (bun run dev's periodic build, or another bun run dbt) to finish: dbt's DuckDB file takes one run at a time`,
  ])
  for (const text of [out1, err1, out2, err2]) {
    expect(text).not.toContain("Traceback")
    expect(text).not.toContain("Conflicting lock")
  }
  expect(all2).toContain("Completed successfully")
  // The lock is gone with its holder.
  expect(existsSync(join(dataDir, "dbt", "dbt.pid"))).toBe(false)
}, 240_000)
