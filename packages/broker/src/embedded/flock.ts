/**
 * flock(2) through bun:ffi. The kernel drops these locks when the holding process dies, so a `kill -9` never
 * leaves a stale lock behind (unlike lock files). Locks belong to an open file description: two opens of the
 * same file, even in one process, exclude each other.
 */
import { dlopen, FFIType } from "bun:ffi"
import { closeSync, fstatSync, openSync, statSync } from "node:fs"

const LOCK_EX = 2
const LOCK_NB = 4
const LOCK_UN = 8
const EINTR_RETRIES = 5

// glibc, musl (Alpine images) and macOS name their C library differently.
const LIBC_CANDIDATES =
  process.platform === "darwin"
    ? ["libSystem.B.dylib"]
    : ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"]

type Flock = (fd: number, op: number) => number
let flockFn: Flock | undefined

// Loaded on first use, so importing the package (e.g. for the Kafka layer) works where flock is missing.
const flock: Flock = (fd, op) => {
  if (flockFn === undefined) {
    const errors: Array<string> = []
    for (const path of LIBC_CANDIDATES) {
      try {
        const lib = dlopen(path, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } })
        flockFn = (f, o) => lib.symbols.flock(f, o)
        break
      } catch (cause) {
        errors.push(`${path}: ${String(cause)}`)
      }
    }
    if (flockFn === undefined) {
      throw new Error(
        `the embedded broker needs flock(2) to share its data dir between processes safely, and no C library ` +
          `providing it could be loaded (${errors.join("; ")}); use Kafka/Redpanda (KAFKA_BROKERS) on this platform`,
      )
    }
  }
  return flockFn(fd, op)
}

const lockFd = (fd: number, op: number): boolean => {
  // A blocking flock may be interrupted by a signal (EINTR); try again a few times before giving up.
  for (let i = 0; i < EINTR_RETRIES; i++) if (flock(fd, op) === 0) return true
  return false
}

/** An exclusive lock on a file; `release` closes it. */
export class FileLock {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
  ) {}

  /** Waits for the lock. */
  static acquire(path: string): FileLock {
    const fd = openSync(path, "a+")
    if (!lockFd(fd, LOCK_EX)) {
      closeSync(fd)
      throw new Error(`flock(LOCK_EX) failed on ${path}`)
    }
    return new FileLock(fd, path)
  }

  /**
   * Takes the lock only if nobody holds it; `undefined` when it is held elsewhere. Safe against a holder that
   * deletes the file while we wait: a lock on a file no longer at `path` is dropped and taken again.
   */
  static tryAcquire(path: string): FileLock | undefined {
    for (;;) {
      const fd = openSync(path, "a+")
      if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
        closeSync(fd)
        return undefined
      }
      if (sameFile(fd, path)) return new FileLock(fd, path)
      closeSync(fd)
    }
  }

  /** Deletes the lock file while still holding the lock, then releases it (see `tryAcquire`). */
  releaseAndDelete(unlink: (path: string) => void): void {
    if (this.fd === undefined) return
    unlink(this.path)
    this.release()
  }

  release(): void {
    if (this.fd === undefined) return
    flock(this.fd, LOCK_UN)
    closeSync(this.fd)
    this.fd = undefined
  }
}

const sameFile = (fd: number, path: string): boolean => {
  try {
    const held = fstatSync(fd)
    const now = statSync(path)
    return held.ino === now.ino && held.dev === now.dev
  } catch {
    return false // deleted since we opened it
  }
}

/** Runs `f` holding the lock on `path`. */
export const withFileLock = <A>(path: string, f: () => A): A => {
  const lock = FileLock.acquire(path)
  try {
    return f()
  } finally {
    lock.release()
  }
}
