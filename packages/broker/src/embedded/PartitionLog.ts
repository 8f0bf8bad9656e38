import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs"
import { join } from "node:path"
import { fsyncDir } from "./durableFile.ts"
import { withFileLock } from "./flock.ts"
import { decodeRecords, type EncodedInput, encodeRecords, type StoredRecord } from "./recordCodec.ts"

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
const INDEX_EVERY_BYTES = 256 * 1024
const READ_CHUNK = 4 * 1024 * 1024
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
    mkdirSync(dir, { recursive: true })
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
      const fd = openSync(segment.path, "r+")
      try {
        writeSync(fd, bytes, 0, bytes.length, segment.size)
        fdatasyncSync(fd)
      } finally {
        closeSync(fd)
      }
      if (segment.index.length === 0 || segment.size - segment.index.at(-1)![1] >= INDEX_EVERY_BYTES) {
        segment.index.push([first, segment.size])
      }
      segment.size += bytes.length
      segment.next = first + records.length
      return first
    })
  }

  /**
   * Up to `maxRecords` records from `offset` on (fewer at the end of the log). An offset below the start
   * (deleted by retention) reads from the start. Values are views into a freshly read buffer.
   */
  read(offset: number, maxRecords: number, maxBytes = READ_CHUNK): Array<StoredRecord> {
    this.catchUp(false)
    const out: Array<StoredRecord> = []
    let from = Math.max(offset, this.segments[0]!.base)
    while (out.length < maxRecords) {
      const segment = this.segmentFor(from)
      if (segment === undefined) break
      if (!segment.scanned) this.scan(segment, false)
      if (from >= segment.next) break
      const got = this.readSegment(segment, from, maxRecords - out.length, maxBytes)
      if (got.length === 0) break
      out.push(...got)
      from = got.at(-1)!.offset + 1
      if (from < segment.next) break // chunk budget reached inside this segment
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
      if (oldest.readFd !== undefined) closeSync(oldest.readFd)
      unlinkSync(oldest.path)
      this.segments.shift()
      total -= sizes.get(oldest)!
    }
  }

  private get active(): Segment {
    return this.segments.at(-1)!
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
    // Closed segments end where the next one begins; they are scanned (indexed) on first read.
    for (let i = 0; i < this.segments.length - 1; i++) this.segments[i]!.next = this.segments[i + 1]!.base
  }

  /** Another process may have deleted old segments (retention): reload the list when the first is gone. */
  private reloadIfRetained(): void {
    if (!existsSync(this.segments[0]!.path)) {
      const known = new Map(this.segments.map((s) => [s.base, s]))
      this.loadSegments()
      this.segments = this.segments.map((s) => known.get(s.base) ?? s)
    }
  }

  /**
   * Reads what other processes appended since we last looked, following rolled segments. With the lock held
   * (`owner`), a torn or corrupt tail can only be a crashed writer's, so it is truncated; without it, it may
   * be a write in progress, so it is merely not visible yet.
   */
  private catchUp(owner: boolean): void {
    this.reloadIfRetained()
    for (;;) {
      const segment = this.active
      this.scan(segment, owner)
      // Another process rolls only a full segment, so only then can a newer one exist.
      if (segment.size < this.options.segmentBytes) return
      const nextPath = join(this.dir, segmentName(segment.next))
      if (!existsSync(nextPath) || nextPath === segment.path) return
      this.segments.push({ base: segment.next, path: nextPath, size: 0, next: segment.next, index: [], scanned: false })
    }
  }

  /** Scans `segment` from its known size to the end of the file. */
  private scan(segment: Segment, owner: boolean): void {
    // The common case, nothing new: one stat, no open.
    if (segment.scanned && statSync(segment.path).size === segment.size) return
    const fd = openSync(segment.path, "r+")
    try {
      const fileSize = fstatSync(fd).size
      while (segment.size < fileSize) {
        const length = Math.min(READ_CHUNK, fileSize - segment.size)
        const buf = new Uint8Array(length)
        readSync(fd, buf, 0, length, segment.size)
        const start = segment.size
        let lastIndexed = segment.index.at(-1)?.[1] ?? -INDEX_EVERY_BYTES
        const { next, stop } = decodeRecords(buf, 0, (r, at) => {
          if (start + at - lastIndexed >= INDEX_EVERY_BYTES) {
            segment.index.push([r.offset, start + at])
            lastIndexed = start + at
          }
          segment.next = r.offset + 1
          return undefined
        })
        segment.size = start + next
        if (stop === "end") continue
        if (stop === "incomplete" && next > 0) continue // the record straddles the chunk: read on from it
        if (stop === "incomplete" && length === READ_CHUNK && start + READ_CHUNK < fileSize) {
          // One record larger than the chunk: read it whole.
          const big = new Uint8Array(fileSize - start)
          readSync(fd, big, 0, big.length, start)
          const again = decodeRecords(big, 0, (r) => {
            segment.next = r.offset + 1
            return undefined
          })
          segment.size = start + again.next
          if (again.next > 0) continue
        }
        // A torn or corrupt tail.
        if (owner) {
          ftruncateSync(fd, segment.size)
          fdatasyncSync(fd)
        }
        break
      }
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

  private readSegment(segment: Segment, from: number, maxRecords: number, maxBytes: number): Array<StoredRecord> {
    let position = 0
    for (const [offset, pos] of segment.index) {
      if (offset <= from) position = pos
      else break
    }
    const out: Array<StoredRecord> = []
    segment.readFd ??= openSync(segment.path, "r")
    const fd = segment.readFd
    while (out.length < maxRecords && position < segment.size) {
      const length = Math.min(Math.max(maxBytes, 64 * 1024), segment.size - position)
      const buf = new Uint8Array(length)
      readSync(fd, buf, 0, length, position)
      let { next } = decodeRecords(buf, 0, (r) => {
        if (r.offset >= from) out.push(r)
        return out.length >= maxRecords
      })
      if (next === 0) {
        // A single record larger than the chunk.
        const whole = new Uint8Array(segment.size - position)
        readSync(fd, whole, 0, whole.length, position)
        next = decodeRecords(whole, 0, (r) => {
          if (r.offset >= from) out.push(r)
          return true
        }).next
        if (next === 0) break
      }
      position += next
      if (out.length > 0 && length >= maxBytes) break
    }
    return out
  }
}
