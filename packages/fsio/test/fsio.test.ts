import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  appendAll,
  FsWriteError,
  faultyWrites,
  isDiskFault,
  publishFile,
  writeFileAll,
  writeFileDurably,
} from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "fsio-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The smallest file with PAR1 at both ends and a footer length that fits (enough for the read-back check). */
const fakeParquet = (bodyBytes: number) => {
  const bytes = new Uint8Array(4 + bodyBytes + 8).fill(7)
  bytes.set([0x50, 0x41, 0x52, 0x31], 0)
  new DataView(bytes.buffer).setUint32(4 + bodyBytes, Math.min(bodyBytes, 100), true)
  bytes.set([0x50, 0x41, 0x52, 0x31], 4 + bodyBytes + 4)
  return bytes
}

const thrown = (f: () => void): FsWriteError => {
  try {
    f()
  } catch (e) {
    if (e instanceof FsWriteError) return e
    throw e
  }
  throw new Error("expected an FsWriteError, nothing was thrown")
}

describe("@shop/fsio", () => {
  test("short counts on a healthy disk are continued: the file is whole", () => {
    const path = join(dir, "chunked.parquet")
    const bytes = fakeParquet(10_000)
    const write = faultyWrites(Number.POSITIVE_INFINITY, { maxChunk: 333 })
    writeFileAll(path, bytes, { write, parquet: true })
    expect(readFileSync(path)).toEqual(Buffer.from(bytes))
    expect(write.calls()).toBe(Math.ceil(bytes.length / 333))
  })

  test("a short write then ENOSPC (as Linux does) is an error with code and path, and the partial file is gone", () => {
    const path = join(dir, "full.parquet")
    const e = thrown(() => writeFileAll(path, fakeParquet(10_000), { write: faultyWrites(4096), parquet: true }))
    expect([e.code, e.path, e.diskFull, isDiskFault(e)]).toEqual(["ENOSPC", path, true, true])
    expect(e.message).toBe(
      `disk full writing ${path} (ENOSPC): ENOSPC: injected fault, write; free space on that disk, then run again`,
    )
    expect(existsSync(path)).toBe(false)
  })

  test("a write returning 0 twice is ENOSPC (not an endless loop, not a silent truncation)", () => {
    const e = thrown(() =>
      writeFileAll(join(dir, "zero"), new Uint8Array(5000), { write: faultyWrites(100, { after: "zero" }) }),
    )
    expect(e.code).toBe("ENOSPC")
    expect(e.detail).toBe("the device took 100 of 5000 bytes and then nothing")
  })

  test("EIO keeps its code and says the disk is failing", () => {
    const e = thrown(() =>
      writeFileAll(join(dir, "eio"), new Uint8Array(5000), { write: faultyWrites(0, { after: "eio" }) }),
    )
    expect([e.code, e.diskFull, isDiskFault(e)]).toEqual(["EIO", false, true])
    expect(e.message).toContain("the disk is failing")
  })

  test("a file that lies about its writes is caught by the read-back (size; PAR1 and footer)", () => {
    // A write function that reports every byte written but drops the last chunk.
    const lying = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => {
      writeSync(fd, buffer, offset, Math.max(0, length - 10), position)
      return length
    }
    const e = thrown(() => writeFileAll(join(dir, "lying.parquet"), fakeParquet(1000), { write: lying, parquet: true }))
    expect(e.code).toBe("ESHORT")
    expect(e.message).toContain("the file holds 1002 bytes, 1012 were written")
    const torn = join(dir, "torn.parquet.tmp")
    writeFileSync(torn, fakeParquet(1000).subarray(0, 600))
    const e2 = thrown(() => publishFile(torn, join(dir, "torn.parquet"), { parquet: true }))
    expect(e2.code).toBe("ESHORT")
    expect(existsSync(join(dir, "torn.parquet"))).toBe(false)
  })

  test("a failed append is cut back to the previous size; the next append starts on a clean line", () => {
    const path = join(dir, "x.log")
    appendAll(path, new TextEncoder().encode("one\n"))
    const e = thrown(() => appendAll(path, new TextEncoder().encode("two two two\n"), { write: faultyWrites(5) }))
    expect(e.code).toBe("ENOSPC")
    expect(e.restoreTo).toBeUndefined()
    expect(statSync(path).size).toBe(4)
    appendAll(path, new TextEncoder().encode("three\n"))
    expect(readFileSync(path, "utf8")).toBe("one\nthree\n")
  })

  test("writeFileDurably keeps the old content when the new one does not fit, and leaves no temp file", () => {
    const path = join(dir, "state.json")
    writeFileDurably(path, '{"v":1}')
    expect(() =>
      writeFileDurably(path, `{"v":2,"pad":"${"x".repeat(10_000)}"}`, { write: faultyWrites(4096) }),
    ).toThrow(/disk full writing .*state\.json\.tmp-\d+ \(ENOSPC\)/)
    expect(readFileSync(path, "utf8")).toBe('{"v":1}')
    expect(readdirSync(dir).filter((f) => f.startsWith("state.json.tmp"))).toEqual([])
  })
})
