import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync, unlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FileLock } from "../src/embedded/flock.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "broker-flock-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test("a flock excludes a second holder, even in the same process, until it is released", () => {
  const path = join(dir, "a.lock")
  const first = FileLock.tryAcquire(path)
  expect(first).toBeDefined()
  expect(FileLock.tryAcquire(path)).toBeUndefined()
  first!.release()
  const second = FileLock.tryAcquire(path)
  expect(second).toBeDefined()
  second!.release()
})

test("a lock file deleted by its holder is created afresh by the next one, which then holds it alone", () => {
  const path = join(dir, "b.lock")
  const holder = FileLock.tryAcquire(path)!
  holder.releaseAndDelete(unlinkSync)
  expect(existsSync(path)).toBe(false)
  const next = FileLock.tryAcquire(path)
  expect(next).toBeDefined()
  expect(existsSync(path)).toBe(true)
  expect(FileLock.tryAcquire(path)).toBeUndefined()
  next!.release()
})
