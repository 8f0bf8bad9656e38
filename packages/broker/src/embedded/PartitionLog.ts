import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync, unlinkSync } from "node:fs"
import { join } from "node:path"
import { appendAll, fsyncDir, mkdirDurably, truncateTo } from "@shop/fsio"
import { BrokerStorageError } from "../BrokerError.ts"
import { withFileLock } from "./flock.ts"
import {
  decodeRecords,
  type EncodedInput,
  encodedSize,
  encodeRecords,
  HEADER_BYTES,
  type StoredRecord,
} from "./recordCodec.ts"

export interface PartitionLogOptions {
  /** Roll to a new segment file once the active one reaches this size. */
  readonly segmentBytes: number
  readonly retentionMs?: number | undefined
  readonly retentionBytes?: number | undefined
}

interface Segment {
  readonly base: number
  readonly path: string
  /** Bytes of whole records known so far. */
  size: number
  /** Offset after the last known record. */
  next: number
  /** Sparse (offset, file position) pairs, ascending; filled as the segment is scanned. */
  index: Array<readonly [number, number]>
  scanned: boolean
  /** Kept open for reads while the segment exists. */
  readFd?: number
}

const SEGMENT_SUFFIX = ".log"
/** One sparse index entry per this many bytes: a seek reads at most this much before its offset. */
const INDEX_EVERY_BYTES = 256 * 1024
/** Most bytes one `read` call reads (a single larger record is still read whole). */
const READ_BUDGET = 4 * 1024 * 1024
const MIN_READ = 64 * 1024
const segmentName = (base: number) => `${String(base).padStart(20, "0")}${SEGMENT_SUFFIX}`

/**
 * One partition of a topic: an ordered list of append-only segment files named by their first offset.
 * Appends take the partition's flock, catch up with whatever other processes appended, write one buffer and
 * fdatasync before returning. Readers take no lock and see only whole, checksummed records.
 */
export class PartitionLog {
  private segments: Array<Segment> = []
  private readonly lockPath: string

  constructor(
    readonly dir: string,
    private readonly options: PartitionLogOptions,
  ) {
    mkdirDurably(dir)
    this.lockPath = join(dir, ".lock")
    // Opening under the lock is also crash recovery: a torn tail left by a dead writer is cut off here.
    withFileLock(this.lockPath, () => {
      this.loadSegments()
      this.catchUp(true)
      this.applyRetention(Date.now())
    })
  }

  /** The next offset to be written (the high watermark). */
  get endOffset(): number {
    this.catchUp(false)
    return this.active.next
  }

  /** The first offset still on disk. */
  get startOffset(): number {
    this.reloadIfRetained()
    return this.segments[0]!.base
  }

  /** Appends records; returns the offset of the first. Durable (fdatasync) when it returns. */
  append(records: ReadonlyArray<EncodedInput>): number {
    return withFileLock(this.lockPath, () => {
      this.catchUp(true)
      if (this.active.size >= this.options.segmentBytes) this.roll()
      const segment = this.active
      const first = segment.next
      const bytes = encodeRecords(records, first)
      // Every byte, fdatasync'd, or an error (a full disk: a short write, then ENOSPC); a failed append is cut
      // back so the segment never ends in a torn record (if even that fails, the reopen's torn-tail check cuts it).
      appendAll(segment.path, bytes, { at: segment.size })
      let lastIndexed = segment.index.at(-1)?.[1] ?? -INDEX_EVERY_BYTES
      let position = segment.size
      for (let i = 0; i < records.length; i++) {
        if (position - lastIndexed >= INDEX_EVERY_BYTES) {
          segment.index.push([first + i, position])
          lastIndexed = position
        }
        position += encodedSize(records[i]!)
      }
      segment.size += bytes.length
      segment.next = first + records.length
      return first
    })
  }

  /**
   * Up to `maxRecords` records from `offset` on (fewer at the end of the log or past the read budget). An
   * offset below the start (deleted by retention) reads from the start. Values are views into a freshly
   * read buffer.
   */
  read(offset: number, maxRecords: number): Array<StoredRecord> {
    this.catchUp(false)
    const out: Array<StoredRecord> = []
    let from = Math.max(offset, this.segments[0]!.base)
    let budget = READ_BUDGET
    while (out.length < maxRecords && budget > 0) {
      const segment = this.segmentFor(from)
      if (segment === undefined) break
      if (!segment.scanned) this.scan(segment, false)
      // Only in the active segment: a closed one ends where the next begins, and segmentFor picks the later.
      if (from >= segment.next) break
      const got = this.readSegment(segment, from, maxRecords - out.length, budget)
      if (got.records.length === 0) break
      for (const r of got.records) out.push(r)
      budget -= got.bytes
      from = got.records.at(-1)!.offset + 1
    }
    return out
  }

  applyRetention(now: number): void {
    const { retentionMs, retentionBytes } = this.options
    if (retentionMs === undefined && retentionBytes === undefined) return
    const sizes = new Map(this.segments.map((s) => [s, statSync(s.path).size]))
    let total = [...sizes.values()].reduce((sum, n) => sum + n, 0)
    // The active segment is never deleted.
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!
      const expired = retentionMs !== undefined && now - statSync(oldest.path).mtimeMs > retentionMs
      const oversize = retentionBytes !== undefined && total > retentionBytes
      if (!expired && !oversize) break
      this.closeSegment(oldest)
      unlinkSync(oldest.path)
      this.segments.shift()
      total -= sizes.get(oldest)!
    }
  }

  /** Closes the file descriptors kept for reading. */
  close(): void {
    for (const s of this.segments) this.closeSegment(s)
  }

  private get active(): Segment {
    return this.segments.at(-1)!
  }

  private closeSegment(segment: Segment): void {
    if (segment.readFd === undefined) return
    closeSync(segment.readFd)
    delete segment.readFd
  }

  private loadSegments(): void {
    const bases = readdirSync(this.dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .map((f) => Number(f.slice(0, -SEGMENT_SUFFIX.length)))
      .sort((a, b) => a - b)
    if (bases.length === 0) {
      const path = join(this.dir, segmentName(0))
      closeSync(openSync(path, "a"))
      fsyncDir(this.dir)
      bases.push(0)
    }
    this.segments = bases.map((base) => ({
      base,
      path: join(this.dir, segmentName(base)),
      size: 0,
      next: base,
      index: [],
      scanned: false,
    }))
    // Closed segments are scanned (checked and indexed) on first read.
  }

  /** Another process may have deleted old segments (retention): reload the list when the first is gone. */
  private reloadIfRetained(): void {
    if (existsSync(this.segments[0]!.path)) return
    const known = new Map(this.segments.map((s) => [s.base, s]))
    this.loadSegments()
    this.segments = this.segments.map((s) => {
      const old = known.get(s.base)
      known.delete(s.base)
      return old ?? s
    })
    for (const gone of known.values()) this.closeSegment(gone)
  }

  /**
   * Reads what other processes appended since we last looked, following segments they rolled. With the lock
   * held (`owner`), a torn or corrupt tail can only be a crashed writer's, so it is truncated; without it, it
   * may be a write in progress, so it is merely not visible yet.
   */
  private catchUp(owner: boolean): void {
    this.reloadIfRetained()
    for (;;) {
      const segment = this.active
      this.scan(segment, owner)
      // A writer rolls only after a complete record, so a newer segment starts exactly at our `next`.
      const nextPath = join(this.dir, segmentName(segment.next))
      if (nextPath === segment.path || !existsSync(nextPath)) return
      this.segments.push({ base: segment.next, path: nextPath, size: 0, next: segment.next, index: [], scanned: false })
    }
  }

  /** Scans `segment` from its known size to the end of the file, checking every record. */
  private scan(segment: Segment, owner: boolean): void {
    // The common case, nothing new: one stat, no open.
    if (segment.scanned && statSync(segment.path).size === segment.size) return
    const fd = openSync(segment.path, owner ? "r+" : "r")
    try {
      const fileSize = fstatSync(fd).size
      let chunk = READ_BUDGET
      while (segment.size < fileSize) {
        const length = Math.min(chunk, fileSize - segment.size)
        const buf = new Uint8Array(length)
        readSync(fd, buf, 0, length, segment.size)
        const start = segment.size
        let lastIndexed = segment.index.at(-1)?.[1] ?? -INDEX_EVERY_BYTES
        let good = 0
        let misplaced = false
        const { stop } = decodeRecords(buf, 0, (r, at, end) => {
          // Offsets are dense: a record out of sequence is damage, not data.
          if (r.offset !== segment.next) {
            misplaced = true
            return true
          }
          if (start + at - lastIndexed >= INDEX_EVERY_BYTES) {
            segment.index.push([r.offset, start + at])
            lastIndexed = start + at
          }
          segment.next = r.offset + 1
          good = end
          return undefined
        })
        segment.size = start + good
        if (!misplaced && stop === "end") continue
        if (!misplaced && stop === "incomplete" && good > 0) continue // straddles the chunk: read on from it
        if (!misplaced && stop === "incomplete" && length === chunk && start + length < fileSize) {
          chunk = fileSize - start // one record larger than the chunk: read the rest whole
          continue
        }
        // A torn or corrupt tail.
        if (segment !== this.active) throw damaged(segment)
        if (owner) truncateTo(segment.path, segment.size)
        break
      }
      // A closed segment must end exactly where the next one begins.
      const following = this.segments[this.segments.indexOf(segment) + 1]
      if (following !== undefined && segment.next !== following.base) throw damaged(segment)
      segment.scanned = true
    } finally {
      closeSync(fd)
    }
  }

  private roll(): void {
    const base = this.active.next
    const path = join(this.dir, segmentName(base))
    closeSync(openSync(path, "a"))
    fsyncDir(this.dir)
    this.segments.push({ base, path, size: 0, next: base, index: [], scanned: true })
    this.applyRetention(Date.now())
  }

  private segmentFor(offset: number): Segment | undefined {
    let found: Segment | undefined
    for (const s of this.segments) {
      if (s.base <= offset) found = s
      else break
    }
    return found
  }

  /** Reads from the nearest index entry at or before `from`, in chunks sized to what is asked for. */
  private readSegment(
    segment: Segment,
    from: number,
    maxRecords: number,
    budget: number,
  ): { records: Array<StoredRecord>; bytes: number } {
    let position = 0
    let indexed = segment.base
    for (const [offset, pos] of segment.index) {
      if (offset > from) break
      position = pos
      indexed = offset
    }
    // Average record size of this segment, to read about as much as the caller wants.
    const count = Math.max(1, segment.next - segment.base)
    const average = segment.size / count
    const out: Array<StoredRecord> = []
    let bytes = 0
    segment.readFd ??= openSync(segment.path, "r")
    const fd = segment.readFd
    // Bytes skipped to reach `from` (at most the index spacing) do not count against the budget.
    while (out.length < maxRecords && position < segment.size && (out.length === 0 || bytes < budget)) {
      const skip = out.length > 0 ? 0 : from - indexed
      const wanted = (skip + maxRecords - out.length) * average * 1.25 + HEADER_BYTES
      const length = Math.min(Math.max(MIN_READ, Math.min(wanted, budget - bytes)), segment.size - position)
      let buf = new Uint8Array(Math.ceil(length))
      readSync(fd, buf, 0, buf.length, position)
      let { next } = decodeRecords(buf, 0, (r) => {
        if (r.offset >= from) out.push(r)
        return out.length >= maxRecords
      })
      if (next === 0) {
        // A single record larger than the chunk: read exactly it.
        const whole = new DataView(buf.buffer).getUint32(0) + 4
        if (whole <= buf.length) break // not a whole record where one must be (see scan)
        buf = new Uint8Array(Math.min(whole, segment.size - position))
        readSync(fd, buf, 0, buf.length, position)
        next = decodeRecords(buf, 0, (r) => {
          if (r.offset >= from) out.push(r)
          return true
        }).next
        if (next === 0) break
      }
      if (out.length > 0) bytes += buf.length
      position += next
    }
    return { records: out, bytes }
  }
}

const damaged = (segment: Segment): BrokerStorageError =>
  new BrokerStorageError({
    message:
      `segment ${segment.path} is damaged at byte ${segment.size} (offset ${segment.next}) although it was closed ` +
      `cleanly; the records after that point cannot be read`,
  })
