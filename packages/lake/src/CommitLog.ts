import {
  closeSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from "node:fs"
import { dirname } from "node:path"

export interface CommittedFile {
  /** e.g. "silver/page_view" */
  readonly table: string
  /** The hive partition value (UTC date). */
  readonly date: string
  /** Path relative to the lake root. */
  readonly path: string
  readonly rows: number
  readonly bytes: number
}

export interface CommitEntry {
  readonly from: number
  /** Inclusive. */
  readonly to: number
  readonly files: ReadonlyArray<CommittedFile>
  /** Newest broker record timestamp in the batch (epoch ms): record time, for replays that judge by it. */
  readonly maxRecordTs: number
  readonly committedAt: string
}

const encoder = new TextEncoder()

/**
 * The commit log of one source topic-partition: one checksummed JSON line per committed micro-batch, listing
 * every file of every table it wrote. Appending that one line (fdatasync'd) is the moment a batch commits, so
 * a multi-table batch is all-or-nothing. A torn last line (crash mid-append) fails its checksum and is cut.
 */
export class CommitLog {
  private entries: Array<CommitEntry> = []

  /** `readOnly`: for other processes (gold jobs); only the partition's owner may cut a torn tail. */
  constructor(
    readonly path: string,
    private readonly readOnly = false,
  ) {
    if (!readOnly) mkdirSync(dirname(path), { recursive: true })
    this.load()
  }

  get all(): ReadonlyArray<CommitEntry> {
    return this.entries
  }

  /** The next offset to process: one past the last committed batch (0 when nothing is committed). */
  get nextOffset(): number {
    return (this.entries.at(-1)?.to ?? -1) + 1
  }

  append(entry: CommitEntry): void {
    const json = JSON.stringify(entry)
    const line = encoder.encode(`${Bun.hash.crc32(json).toString(16).padStart(8, "0")} ${json}\n`)
    const fd = openSync(this.path, "a")
    try {
      writeSync(fd, line)
      fdatasyncSync(fd)
    } finally {
      closeSync(fd)
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
      const crc = line.slice(0, 8)
      const json = line.slice(9)
      if (Bun.hash.crc32(json).toString(16).padStart(8, "0") !== crc) break
      this.entries.push(JSON.parse(json) as CommitEntry)
      pos = nl + 1
    }
    if (pos < bytes.length && !this.readOnly) {
      // A torn tail: the batch never committed; the processor will redo it.
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
