/**
 * Exclusive file locks with flock(2) (from @shop/fsio's libc loader). The kernel drops these locks when the
 * holding process dies, so a `kill -9` never leaves a stale lock behind (unlike lock files). Locks belong to an
 * open file description: two opens of the same file, even in one process, exclude each other.
 */
import { closeSync, fstatSync, openSync, statSync } from "node:fs"
import { flock, LOCK_EX, LOCK_NB, LOCK_UN } from "@shop/fsio"

/** An exclusive lock on a file; `release` closes it. */
export class FileLock {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
  ) {}

  /** Waits for the lock. */
  static acquire(path: string): FileLock {
    const fd = openSync(path, "a+")
    try {
      flock(fd, LOCK_EX)
    } catch (cause) {
      closeSync(fd)
      throw Object.assign(new Error(`locking ${path}: ${(cause as Error).message}`, { cause }), {
        code: (cause as { code?: string }).code,
      })
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
      if (!flock(fd, LOCK_EX | LOCK_NB)) {
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
