/**
 * flock(2) through bun:ffi. The kernel drops these locks when the holding process dies, so a `kill -9` never
 * leaves a stale lock behind (unlike lock files). Locks belong to an open file description: two opens of the
 * same file, even in one process, exclude each other.
 */
import { dlopen, FFIType } from "bun:ffi"
import { closeSync, openSync } from "node:fs"

const LOCK_EX = 2
const LOCK_NB = 4
const LOCK_UN = 8

const libcPath = process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6"

const libc = (() => {
  try {
    return dlopen(libcPath, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } })
  } catch (cause) {
    throw new Error(
      `The embedded broker needs flock(2) from ${libcPath} to share its data dir between processes safely (${String(cause)})`,
    )
  }
})()

/** An exclusive lock on a file; `release` closes it. */
export class FileLock {
  private constructor(private fd: number | undefined) {}

  /** Waits for the lock. */
  static acquire(path: string): FileLock {
    const fd = openSync(path, "a+")
    if (libc.symbols.flock(fd, LOCK_EX) !== 0) {
      closeSync(fd)
      throw new Error(`flock(LOCK_EX) failed on ${path}`)
    }
    return new FileLock(fd)
  }

  /** Takes the lock only if nobody holds it; `undefined` when it is held elsewhere. */
  static tryAcquire(path: string): FileLock | undefined {
    const fd = openSync(path, "a+")
    if (libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd)
      return undefined
    }
    return new FileLock(fd)
  }

  release(): void {
    if (this.fd === undefined) return
    libc.symbols.flock(this.fd, LOCK_UN)
    closeSync(this.fd)
    this.fd = undefined
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
