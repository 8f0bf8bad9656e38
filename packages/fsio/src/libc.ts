/**
 * The system calls the broker and the lake need that Node's fs lacks, through bun:ffi, the repo's one libc
 * loader: flock(2) (shared and exclusive locks the kernel drops when the holder dies, so a kill -9 leaves no
 * stale lock) and an atomic exchange of two directories (Linux renameat2 RENAME_EXCHANGE, macOS renamex_np
 * RENAME_SWAP). Loaded on first use, so importing this where they are missing works until they are called.
 * Failures carry the errno name as `code` (EIO, ENOLCK...), like Node's own fs errors.
 */
import { dlopen, FFIType, read } from "bun:ffi"
import { constants } from "node:os"

export const LOCK_SH = 1
export const LOCK_EX = 2
export const LOCK_NB = 4
export const LOCK_UN = 8

const AT_FDCWD = -100
const RENAME_EXCHANGE = 2 // Linux; macOS RENAME_SWAP has the same value
const EINTR = 4

const LIBC_CANDIDATES =
  process.platform === "darwin"
    ? ["libSystem.B.dylib"]
    : ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"]

interface Libc {
  readonly flock: (fd: number, op: number) => number
  readonly exchange: (a: string, b: string) => number
  readonly errno: () => number
}

let libc: Libc | undefined

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]))

/** An Error with the errno's name as `code`, so callers tell an OS failure (typed) from a bug. */
const errnoError = (message: string, errno: number): Error =>
  Object.assign(new Error(`${message} (errno ${errno})`), { code: ERRNO_NAMES.get(errno) ?? `E${errno}` })

const load = (): Libc => {
  if (libc !== undefined) return libc
  const errors: Array<string> = []
  for (const path of LIBC_CANDIDATES) {
    try {
      if (process.platform === "darwin") {
        const lib = dlopen(path, {
          flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
          renamex_np: { args: [FFIType.ptr, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
          __error: { args: [], returns: FFIType.ptr },
        })
        libc = {
          flock: (fd, op) => lib.symbols.flock(fd, op),
          exchange: (a, b) => lib.symbols.renamex_np(cString(a), cString(b), RENAME_EXCHANGE),
          errno: () => read.i32(lib.symbols.__error()!, 0),
        }
      } else {
        const lib = dlopen(path, {
          flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
          renameat2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
          __errno_location: { args: [], returns: FFIType.ptr },
        })
        libc = {
          flock: (fd, op) => lib.symbols.flock(fd, op),
          exchange: (a, b) => lib.symbols.renameat2(AT_FDCWD, cString(a), AT_FDCWD, cString(b), RENAME_EXCHANGE),
          errno: () => read.i32(lib.symbols.__errno_location()!, 0),
        }
      }
      return libc
    } catch (cause) {
      errors.push(`${path}: ${String(cause)}`)
    }
  }
  throw new Error(
    `flock(2) and renameat2(2) are needed from the C library (the embedded broker and the lake share a data dir between processes with them), and none loaded (${errors.join("; ")}); on such a platform use Kafka/Redpanda (KAFKA_BROKERS) for the broker`,
  )
}

/**
 * A NUL-terminated path, passed as the typed array itself (not a raw `ptr()`): bun:ffi keeps an argument alive
 * for the call, while a bare pointer to a temporary buffer may be collected before the kernel reads it.
 */
const cString = (s: string) => Buffer.from(`${s}\0`, "utf8")

/** flock(2), retrying on EINTR; false when a non-blocking request finds the lock held. */
export const flock = (fd: number, op: number): boolean => {
  const c = load()
  for (;;) {
    if (c.flock(fd, op) === 0) return true
    const errno = c.errno()
    if (errno === EINTR) continue
    if ((op & LOCK_NB) !== 0) return false
    throw errnoError("flock failed", errno)
  }
}

/**
 * Swaps two directories in one atomic step: every reader resolves a path to the old or the new directory,
 * never to neither. Throws with a clear message where the filesystem cannot do it.
 */
export const exchangeDirs = (a: string, b: string): void => {
  const c = load()
  if (c.exchange(a, b) === 0) return
  const errno = c.errno()
  if (errno === 22 || errno === 38 || errno === 95) {
    throw errnoError(
      `the filesystem under ${a} cannot exchange two directories atomically (renameat2 RENAME_EXCHANGE); ` +
        `compaction needs it so that readers never see both or neither file sets (ext4, xfs, btrfs, tmpfs and APFS can)`,
      errno,
    )
  }
  throw errnoError(`exchanging ${a} and ${b} failed`, errno)
}
