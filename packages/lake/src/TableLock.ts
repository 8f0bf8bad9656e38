/**
 * Per-table flock(2) locks under `_lake/locks/`. The swap lock of a table is held shared by everyone who
 * needs the table's directories to stay put for a moment (a writer between renaming its files into place and
 * committing them, a gold job while it reads) and exclusive by compaction only while it swaps a day's directory.
 * Shared holders never wait for each other. A second, per-table "compact" lock keeps two compactions of one
 * table apart. The kernel drops a lock when its holder dies.
 */
import { closeSync, mkdirSync, openSync } from "node:fs"
import { dirname } from "node:path"
import { flock, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from "@shop/fsio"
import { Effect, Schedule } from "effect"
import { lakeLayout } from "./layout.ts"

export const { swapLockPath, compactLockPath } = lakeLayout

const openLockFile = (path: string): number => {
  mkdirSync(dirname(path), { recursive: true })
  return openSync(path, "a+")
}

export interface HeldLock {
  release(): void
}

const held = (fd: number): HeldLock => {
  let open = true
  return {
    release: () => {
      if (!open) return
      open = false
      flock(fd, LOCK_UN)
      closeSync(fd)
    },
  }
}

/** Takes a lock only if free; `undefined` when someone holds it in a conflicting mode. */
export const tryLock = (path: string, mode: "shared" | "exclusive"): HeldLock | undefined => {
  const fd = openLockFile(path)
  if (!flock(fd, (mode === "shared" ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
    closeSync(fd)
    return undefined
  }
  return held(fd)
}

/**
 * Shared locks on several tables' swap locks, waiting for each (a compaction holds one exclusively for
 * milliseconds only). Taken in sorted order. Synchronous: a writer takes and drops them in one go.
 */
export const lockTablesShared = (root: string, tables: Iterable<string>): HeldLock => {
  const locks: Array<HeldLock> = []
  try {
    for (const table of [...new Set(tables)].sort()) {
      const fd = openLockFile(swapLockPath(root, table))
      try {
        flock(fd, LOCK_SH)
      } catch (e) {
        closeSync(fd)
        throw e
      }
      locks.push(held(fd))
    }
  } catch (e) {
    for (const l of locks) l.release()
    throw e
  }
  return {
    release: () =>
      locks.forEach((l) => {
        l.release()
      }),
  }
}

/** A lock someone else holds (the retry's signal; never escapes `waitForLock`). */
class LockHeld {
  readonly _tag = "LockHeld"
}

/**
 * Waits for a lock without blocking the thread (a non-blocking flock retried on a Schedule: 2 ms doubling to
 * 50 ms between tries), so a process that also runs a writer keeps running while it waits. `undefined` after
 * `timeoutMs`. The Schedule runs on Effect's Clock, so a spec can drive it with TestClock.
 */
export const waitForLock = (path: string, mode: "shared" | "exclusive", timeoutMs: number) =>
  Effect.suspend(() => {
    const lock = tryLock(path, mode)
    return lock === undefined ? Effect.fail(new LockHeld()) : Effect.succeed<HeldLock | undefined>(lock)
  }).pipe(
    Effect.retry(
      Schedule.min([Schedule.exponential("2 millis"), Schedule.spaced("50 millis")]).pipe(
        Schedule.upTo({ duration: timeoutMs }),
      ),
    ),
    Effect.catch(() => Effect.succeed(undefined)),
  )

/**
 * Runs `effect` holding shared swap locks on `tables`: no compaction swaps their directories meanwhile, so a
 * reader that lists files (or globs) and then opens them finds every one. Writers are not held up.
 */
export const withTablesReadLocked = <A, E, R>(
  root: string,
  tables: Iterable<string>,
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.gen(function* () {
      const locks: Array<HeldLock> = []
      for (const table of [...new Set(tables)].sort()) {
        // Compaction holds it exclusively for milliseconds; a day's wait means something is badly wrong.
        const lock = yield* waitForLock(swapLockPath(root, table), "shared", 86_400_000)
        if (lock !== undefined) locks.push(lock)
      }
      return locks
    }),
    () => effect,
    (locks) =>
      Effect.sync(() =>
        locks.forEach((l) => {
          l.release()
        }),
      ),
  )
