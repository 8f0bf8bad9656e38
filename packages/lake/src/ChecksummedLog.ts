import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync } from "node:fs"
import { dirname } from "node:path"
import { appendAll, FsWriteError, truncateTo, type WriteFn } from "@shop/fsio"

const encoder = new TextEncoder()
const crcOf = (json: string) => Bun.hash.crc32(json).toString(16).padStart(8, "0")

/**
 * An append-only file of checksummed JSON lines (`<crc32 hex> <json>\n`). Appending one line, fdatasync'd, is
 * an atomic commit: a torn last line (crash mid-append) fails its checksum, is ignored by readers and cut by
 * the log's writer when it opens the log.
 *
 * An append that does not fully happen (a full disk: short write, then ENOSPC) throws an FsWriteError and
 * is cut back to the previous size, so the next append is never glued to a torn line; if even the cut fails,
 * it is redone before the next append.
 */
export class ChecksummedLog<T> {
  private entries: Array<T> = []
  /** Set after an append failed and could not be cut back: the size to restore before appending again. */
  private restoreTo: number | undefined

  /** `readOnly`: for processes that do not own the log; only its writer may cut a torn tail. */
  constructor(
    readonly path: string,
    private readonly readOnly = false,
    private readonly options: { readonly write?: WriteFn } = {},
  ) {
    if (!readOnly) mkdirSync(dirname(path), { recursive: true })
    this.load()
  }

  get all(): ReadonlyArray<T> {
    return this.entries
  }

  append(entry: T): void {
    const json = JSON.stringify(entry)
    if (this.restoreTo !== undefined) {
      truncateTo(this.path, this.restoreTo)
      this.restoreTo = undefined
    }
    try {
      appendAll(this.path, encoder.encode(`${crcOf(json)} ${json}\n`), this.options)
    } catch (cause) {
      if (cause instanceof FsWriteError && cause.restoreTo !== undefined) this.restoreTo = cause.restoreTo
      throw cause
    }
    this.entries.push(entry)
  }

  private load(): void {
    if (!existsSync(this.path)) return
    const bytes = readFileSync(this.path)
    let pos = 0
    while (pos < bytes.length) {
      const nl = bytes.indexOf(10, pos)
      if (nl === -1) break
      const line = bytes.subarray(pos, nl).toString("utf8")
      const json = line.slice(9)
      if (crcOf(json) !== line.slice(0, 8)) break
      this.entries.push(JSON.parse(json) as T)
      pos = nl + 1
    }
    if (pos < bytes.length && !this.readOnly) {
      // A torn tail: that entry never committed.
      const fd = openSync(this.path, "r+")
      try {
        ftruncateSync(fd, pos)
        fdatasyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
  }
}
