/**
 * Durable writes that never leave a file that claims more than it holds. See README.md.
 *
 * `fs.writeSync` on a full disk returns a short count and throws ENOSPC only on the next call: every writer
 * of the pipeline goes through `writeAll`, which continues short writes, and the helpers below verify what
 * reached the file (fstat size, Parquet magic and footer) before a caller renames or commits it.
 */
import {
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs"
import { type FileHandle, open as openAsync } from "node:fs/promises"
import { dirname } from "node:path"

export * from "./libc.ts"

/** `fs.writeSync(fd, buffer, offset, length, position)`: the test seam for short writes and full disks. */
export type WriteFn = (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number | null,
) => number

const defaultWrite: WriteFn = (fd, buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position)

/** errno codes that mean "no space": the disk or the user's quota is full. */
export const DISK_FULL_CODES: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT"])

/**
 * A write, fsync, verification or rename that did not fully happen. `code` is the errno name (ENOSPC, EIO, or
 * ESHORT when the file read back is not what was written); `op` the gerund of what failed ("writing").
 * `summary` is the first half of a one-line message ("disk full writing /x (ENOSPC)"); `message` adds the
 * detail and what to do.
 */
export class FsWriteError extends Error {
  override readonly name = "FsWriteError"
  readonly summary: string
  /** Set when a failed append could not be cut back: truncate to this size before the next append. */
  restoreTo?: number
  constructor(
    readonly op: string,
    readonly path: string,
    readonly code: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    const summary = `${describeCode(code)} ${op} ${path} (${code})`
    super(`${summary}: ${detail}; ${adviceFor(code)}`, options)
    this.summary = summary
  }

  get diskFull(): boolean {
    return DISK_FULL_CODES.has(this.code)
  }
}

const describeCode = (code: string) =>
  DISK_FULL_CODES.has(code)
    ? "disk full"
    : code === "EIO"
      ? "I/O error"
      : code === "ESHORT"
        ? "incomplete file"
        : "failed"

/** What a person should do about an errno, in a few words. */
export const adviceFor = (code: string): string =>
  DISK_FULL_CODES.has(code)
    ? "free space on that disk, then run again"
    : code === "EIO"
      ? "the disk is failing (see dmesg); fix or replace it, then run again"
      : code === "EROFS"
        ? "the filesystem is read-only; remount it read-write, then run again"
        : "check the disk and permissions, then run again"

/** The errno name of a Node/Bun fs error (`ENOSPC`), or undefined for anything else. */
export const errnoCode = (cause: unknown): string | undefined => {
  if (cause instanceof FsWriteError) return cause.code
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined
}

/** True for errors no retry in the same process will fix: the disk is full or failing. */
export const isDiskFault = (cause: unknown): boolean => {
  const code = errnoCode(cause)
  return code !== undefined && (DISK_FULL_CODES.has(code) || code === "EIO" || code === "EROFS")
}

const wrap = (op: string, path: string, cause: unknown): FsWriteError => {
  if (cause instanceof FsWriteError) return cause
  const code = errnoCode(cause) ?? "EUNKNOWN"
  const message = cause instanceof Error ? cause.message : String(cause)
  return new FsWriteError(op, path, code, message, { cause })
}

const bestEffort = (f: () => void) => {
  try {
    f()
  } catch {
    // already failing: the first error is the one reported
  }
}

export interface WriteOptions {
  /** The seam for tests: a `writeSync`-like function (default `fs.writeSync`). */
  readonly write?: WriteFn
}

/**
 * Writes every byte of `bytes` at `position` (or at the file position when omitted), continuing short writes.
 * A write of 0 bytes twice in a row means the device takes no more: raised as ENOSPC.
 */
export const writeAll = (
  fd: number,
  bytes: Uint8Array,
  path: string,
  options: WriteOptions & { readonly position?: number } = {},
): void => {
  const write = options.write ?? defaultWrite
  let written = 0
  let zeros = 0
  while (written < bytes.length) {
    let n: number
    try {
      n = write(
        fd,
        bytes,
        written,
        bytes.length - written,
        options.position === undefined ? null : options.position + written,
      )
    } catch (cause) {
      throw wrap("writing", path, cause)
    }
    if (n > 0) {
      written += n
      zeros = 0
    } else if (++zeros >= 2) {
      throw new FsWriteError(
        "writing",
        path,
        "ENOSPC",
        `the device took ${written} of ${bytes.length} bytes and then nothing`,
      )
    }
  }
}

/** fstat says the file holds exactly `expected` bytes. */
export const verifySize = (fd: number, expected: number, path: string): void => {
  const size = fstatSync(fd).size
  if (size !== expected) {
    throw new FsWriteError("verifying", path, "ESHORT", `the file holds ${size} bytes, ${expected} were written`)
  }
}

const MAGIC = 0x31524150 // "PAR1" little-endian

/**
 * Reads back from the file: `PAR1` at both ends and a footer length that fits, so a truncated or torn Parquet
 * file is caught before it is renamed or committed.
 */
export const verifyParquet = (fd: number, size: number, path: string): void => {
  if (size < 12) throw new FsWriteError("verifying", path, "ESHORT", `${size} bytes is too short for Parquet`)
  const head = new Uint8Array(4)
  const tail = new Uint8Array(8)
  if (readSync(fd, head, 0, 4, 0) !== 4 || readSync(fd, tail, 0, 8, size - 8) !== 8) {
    throw new FsWriteError("verifying", path, "ESHORT", `could not read back the file's ends`)
  }
  const h = new DataView(head.buffer)
  const t = new DataView(tail.buffer)
  const footer = t.getUint32(0, true)
  if (h.getUint32(0, true) !== MAGIC || t.getUint32(4, true) !== MAGIC) {
    throw new FsWriteError("verifying", path, "ESHORT", `no PAR1 magic at both ends of ${size} bytes read back`)
  }
  if (footer === 0 || footer > size - 12) {
    throw new FsWriteError("verifying", path, "ESHORT", `footer length ${footer} does not fit a ${size}-byte file`)
  }
}

export interface FileWriteOptions extends WriteOptions {
  /** fsync the file (default true). Off only for files nothing relies on after a crash (metrics). */
  readonly fsync?: boolean
  /** Check the bytes read back are a whole Parquet file. */
  readonly parquet?: boolean
}

/**
 * Creates (or replaces) `path` with exactly `bytes`: all written, fsynced, size (and Parquet ends) verified.
 * On any failure the partial file is removed, so what is left never looks like a result.
 */
export const writeFileAll = (path: string, data: Uint8Array | string, options: FileWriteOptions = {}): void => {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
  let fd: number
  try {
    // Read-write: the verification reads the Parquet ends back.
    fd = openSync(path, "w+")
  } catch (cause) {
    throw wrap("opening", path, cause)
  }
  let ok = false
  try {
    writeAll(fd, bytes, path, options)
    if (options.fsync !== false) {
      try {
        fsyncSync(fd)
      } catch (cause) {
        throw wrap("syncing", path, cause)
      }
    }
    verifySize(fd, bytes.length, path)
    if (options.parquet === true) verifyParquet(fd, bytes.length, path)
    ok = true
  } finally {
    bestEffort(() => closeSync(fd))
    if (!ok) bestEffort(() => unlinkSync(path))
  }
}

/**
 * fsyncs these files (written with `fsync: false`) concurrently and off the JavaScript thread: the caller's
 * other work runs meanwhile, and the kernel can merge their journal commits (one after another, a batch's dozen
 * files cost a dozen commits). Rejects with the first file's FsWriteError.
 */
export const fsyncFiles = (paths: ReadonlyArray<string>): Promise<void> =>
  Promise.all(
    paths.map(async (path) => {
      let handle: FileHandle
      try {
        handle = await openAsync(path, "r")
      } catch (cause) {
        throw wrap("opening", path, cause)
      }
      try {
        await handle.sync()
      } catch (cause) {
        throw wrap("syncing", path, cause)
      } finally {
        await handle.close().catch(() => {})
      }
    }),
  ).then(() => undefined)

/** fsync a directory, so a file created or renamed in it survives a crash. */
export const fsyncDir = (dir: string): void => {
  try {
    const fd = openSync(dir, "r")
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch (cause) {
    throw wrap("syncing", dir, cause)
  }
}

/** `mkdir -p` whose new entries survive a power cut: each created directory's parent is fsynced. */
export const mkdirDurably = (dir: string): void => {
  if (existsSync(dir)) return
  const parent = dirname(dir)
  if (parent !== dir) mkdirDurably(parent)
  try {
    mkdirSync(dir, { recursive: true })
  } catch (cause) {
    throw wrap("creating", dir, cause)
  }
  fsyncDir(parent)
}

export interface RenameOptions {
  /** The size the target must have after the rename (a rename never changes it; this catches a wrong file). */
  readonly expectedBytes?: number
  /** fsync the target's directory (default true; callers renaming many files into one directory do it once). */
  readonly fsyncDir?: boolean
}

/** rename(2), then checks the target is there with the expected size, and makes the rename durable. */
export const renameVerified = (from: string, to: string, options: RenameOptions = {}): void => {
  try {
    renameSync(from, to)
  } catch (cause) {
    throw wrap("renaming to", to, cause)
  }
  if (options.expectedBytes !== undefined) {
    let size: number
    try {
      size = statSync(to).size
    } catch (cause) {
      throw wrap("verifying", to, cause)
    }
    if (size !== options.expectedBytes) {
      throw new FsWriteError(
        "verifying",
        to,
        "ESHORT",
        `renamed file holds ${size} bytes, ${options.expectedBytes} expected`,
      )
    }
  }
  if (options.fsyncDir !== false) fsyncDir(dirname(to))
}

/**
 * Replaces `path` atomically and durably: written whole to a temp file beside it, fsynced, verified, renamed,
 * directory fsynced. Readers see the old or the new content, never a torn mix; on failure the old one stays.
 */
export const writeFileDurably = (
  path: string,
  data: string | Uint8Array,
  options: FileWriteOptions & { readonly temp?: string } = {},
): void => {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
  const temp = options.temp ?? `${path}.tmp-${process.pid}`
  writeFileAll(temp, bytes, options)
  try {
    renameVerified(temp, path, { expectedBytes: bytes.length, fsyncDir: options.fsync !== false })
  } catch (cause) {
    bestEffort(() => unlinkSync(temp))
    throw cause
  }
}

/**
 * A file another program wrote (DuckDB's COPY): fsync it, check its size is stable and (optionally) that it is
 * whole Parquet, then rename it into place durably.
 */
export const publishFile = (temp: string, path: string, options: { readonly parquet?: boolean } = {}): void => {
  let fd: number
  try {
    fd = openSync(temp, "r")
  } catch (cause) {
    throw wrap("opening", temp, cause)
  }
  let size: number
  try {
    try {
      fsyncSync(fd)
    } catch (cause) {
      throw wrap("syncing", temp, cause)
    }
    size = fstatSync(fd).size
    if (options.parquet === true) verifyParquet(fd, size, temp)
  } catch (cause) {
    bestEffort(() => closeSync(fd))
    bestEffort(() => unlinkSync(temp))
    throw cause
  }
  closeSync(fd)
  renameVerified(temp, path, { expectedBytes: size })
}

export interface AppendOptions extends WriteOptions {
  /** fdatasync after the append (default true). */
  readonly sync?: boolean
  /** Where the file ends as its one writer knows it (default: its size now); the append goes there. */
  readonly at?: number
}

/**
 * Appends `bytes` at the file's end (created if missing) and fdatasyncs; verifies the file grew by exactly
 * that. On failure the file is truncated back to its previous size, so a later append is not glued to a torn
 * piece; if even that fails, the error's `restoreTo` says the size to cut back to before the next append.
 * Returns the new size. One writer per file (the log's owner): it writes at the size it saw, not O_APPEND, so
 * that it knows exactly where to cut back.
 */
export const appendAll = (path: string, bytes: Uint8Array, options: AppendOptions = {}): number => {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644)
  } catch (cause) {
    throw wrap("appending to", path, cause)
  }
  let before = -1
  try {
    before = options.at ?? fstatSync(fd).size
    writeAll(fd, bytes, path, { ...options, position: before })
    if (options.sync !== false) {
      try {
        fdatasyncSync(fd)
      } catch (cause) {
        throw wrap("syncing", path, cause)
      }
    }
    verifySize(fd, before + bytes.length, path)
    return before + bytes.length
  } catch (cause) {
    const error = wrap("appending to", path, cause)
    if (before >= 0) {
      try {
        ftruncateSync(fd, before)
        fdatasyncSync(fd)
      } catch {
        error.restoreTo = before
      }
    }
    throw error
  } finally {
    bestEffort(() => closeSync(fd))
  }
}

/** Cuts `path` back to `size` bytes (when longer) and fdatasyncs: undoes a torn append. */
export const truncateTo = (path: string, size: number): void => {
  try {
    if (!existsSync(path) || statSync(path).size <= size) return
    const fd = openSync(path, "r+")
    try {
      ftruncateSync(fd, size)
      fdatasyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch (cause) {
    throw wrap("truncating", path, cause)
  }
}

/**
 * Test faults, `writeSync`-like: writes for real until `budget` bytes have gone through (the last write short),
 * then behaves like a full disk: `"enospc"` throws ENOSPC as the kernel does after a short write, `"zero"`
 * returns 0 forever. `maxChunk` caps every write (short counts on a healthy disk).
 */
export const faultyWrites = (
  budget: number,
  options: { readonly after?: "enospc" | "zero" | "eio"; readonly maxChunk?: number } = {},
): WriteFn & { readonly calls: () => number } => {
  let left = budget
  let calls = 0
  const fn = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => {
    calls++
    const n = Math.min(length, left, options.maxChunk ?? Number.POSITIVE_INFINITY)
    if (n <= 0) {
      if (options.after === "zero") return 0
      const code = options.after === "eio" ? "EIO" : "ENOSPC"
      throw Object.assign(new Error(`${code}: injected fault, write`), { code })
    }
    left -= n
    return writeSync(fd, buffer, offset, n, position)
  }
  return Object.assign(fn, { calls: () => calls })
}
