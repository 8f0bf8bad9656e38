import { existsSync, readdirSync, rmdirSync, unlinkSync } from "node:fs"
import { join } from "node:path"
import { mkdirDurably, writeFileDurably } from "@shop/fsio"
import { FileLock, withFileLock } from "./flock.ts"
import { readJsonFile } from "./jsonFile.ts"

type Offsets = Record<string, Record<string, number>>

const OFFSETS = "offsets.json"

/**
 * A consumer group's committed offsets (`groups/<group>/offsets.json`, replaced atomically) and its membership
 * locks: the embedded broker allows one live member per partition of a group, and the kernel frees the lock
 * if that member dies.
 */
export class GroupOffsets {
  private readonly dir: string

  constructor(
    root: string,
    readonly groupId: string,
  ) {
    this.dir = join(root, encodeURIComponent(groupId))
  }

  static list(root: string): Array<string> {
    if (!existsSync(root)) return []
    return readdirSync(root)
      .filter((d) => existsSync(join(root, d, OFFSETS)))
      .map((d) => decodeURIComponent(d))
      .sort()
  }

  read(): Offsets {
    const path = join(this.dir, OFFSETS)
    if (!existsSync(path)) return {}
    return readJsonFile<Offsets>(path)
  }

  committed(topic: string): Array<{ partition: number; offset: number }> {
    return Object.entries(this.read()[topic] ?? {})
      .map(([partition, offset]) => ({ partition: Number(partition), offset }))
      .sort((a, b) => a.partition - b.partition)
  }

  commit(offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): void {
    if (offsets.length === 0) return
    mkdirDurably(this.dir)
    // Members owning different partitions commit to the same file: read-modify-write under a lock.
    withFileLock(join(this.dir, "offsets.lock"), () => {
      const all = this.read()
      for (const o of offsets) {
        all[o.topic] ??= {}
        all[o.topic]![String(o.partition)] = o.offset
      }
      writeFileDurably(join(this.dir, OFFSETS), JSON.stringify(all))
    })
  }

  /**
   * Membership of these partitions: one lock per partition, so members may split a topic's partitions
   * between them (static assignment) but never share one. `undefined` when a live member holds any of them.
   */
  join(partitions: ReadonlyArray<{ topic: string; partition: number }>): Array<FileLock> | undefined {
    const locks: Array<FileLock> = []
    for (const { topic, partition } of partitions) {
      const lock = this.tryLock(join(this.dir, `member-${encodeURIComponent(topic)}-${partition}.lock`))
      if (lock === undefined) {
        for (const l of locks) l.release()
        return undefined
      }
      locks.push(lock)
    }
    this.removeStaleTempFiles()
    return locks
  }

  /**
   * Releases the membership. A group that never committed (a throw-away console group) leaves no trace: each
   * member deletes its own lock files while holding them (safe, see FileLock.tryAcquire) and the directory
   * goes once it is empty.
   */
  leave(locks: ReadonlyArray<FileLock>): void {
    const throwAway = !existsSync(join(this.dir, OFFSETS))
    for (const lock of locks) {
      if (throwAway) lock.releaseAndDelete(unlinkIfPresent)
      else lock.release()
    }
    if (throwAway) {
      try {
        rmdirSync(this.dir)
      } catch {
        // Another member still has files here; the last one out removes the directory.
      }
    }
  }

  /** A killed committer leaves `offsets.json.tmp-<pid>`; under the commit lock no commit is in flight. */
  private removeStaleTempFiles(): void {
    const isTemp = (f: string) => f.startsWith(`${OFFSETS}.tmp-`)
    // A member of no partition (an empty static assignment) created no directory.
    if (!existsSync(this.dir) || !readdirSync(this.dir).some(isTemp)) return
    withFileLock(join(this.dir, "offsets.lock"), () => {
      for (const f of readdirSync(this.dir)) if (isTemp(f)) unlinkIfPresent(join(this.dir, f))
    })
  }

  private tryLock(path: string): FileLock | undefined {
    // A member leaving a throw-away group may remove the directory between our mkdir and open.
    for (let attempt = 0; ; attempt++) {
      // Durable here, so the group's directory entry is on disk before its first commit relies on it.
      mkdirDurably(this.dir)
      try {
        return FileLock.tryAcquire(path)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 10) throw e
      }
    }
  }
}

const unlinkIfPresent = (path: string): void => {
  try {
    unlinkSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
  }
}
