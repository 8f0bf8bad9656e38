import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import type { CommitEntry } from "./CommitLog.ts"
import { lakeLayout } from "./layout.ts"

/** A committed batch and the source partition whose log holds it. */
export interface TailedEntry extends CommitEntry {
  readonly topic: string
  readonly partition: number
}

const decoder = new TextDecoder()

/**
 * Follows every commit log of the lake from another process, read-only: each `poll()` reads
 * only the bytes appended since the last one and returns the newly committed batches, in log order per
 * partition. A line still being appended (or torn) is left for the next poll, so only committed batches are seen.
 */
export class CommitLogTail {
  private readonly offsets = new Map<string, number>()
  private readonly nextOffsets = new Map<string, number>()

  constructor(readonly root: string) {}

  /** Per `<topic>/<partition>`: one past the last offset committed to the lake, as seen so far. */
  get committed(): ReadonlyMap<string, number> {
    return this.nextOffsets
  }

  poll(): Array<TailedEntry> {
    const out: Array<TailedEntry> = []
    for (const { topic, partition, path } of lakeLayout.commitLogs(this.root)) {
      const key = `${topic}/${partition}`
      const from = this.offsets.get(key) ?? 0
      const fd = openSync(path, "r")
      try {
        const size = fstatSync(fd).size
        if (size <= from) continue
        const bytes = Buffer.allocUnsafe(size - from)
        const n = readSync(fd, bytes, 0, bytes.length, from)
        let pos = 0
        for (;;) {
          const nl = bytes.indexOf(10, pos)
          if (nl === -1 || nl >= n) break
          const line = decoder.decode(bytes.subarray(pos, nl))
          const json = line.slice(9)
          // A bad checksum is a torn tail its owner will cut: stop here and read it again next time.
          if (Bun.hash.crc32(json).toString(16).padStart(8, "0") !== line.slice(0, 8)) break
          const entry = JSON.parse(json) as CommitEntry
          out.push({ ...entry, topic, partition })
          this.nextOffsets.set(key, entry.to + 1)
          pos = nl + 1
        }
        this.offsets.set(key, from + pos)
      } finally {
        closeSync(fd)
      }
    }
    return out
  }
}
