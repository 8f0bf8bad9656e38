import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { writeFileDurably } from "./durableFile.ts"
import { FileLock, withFileLock } from "./flock.ts"

type Offsets = Record<string, Record<string, number>>

/**
 * A consumer group's committed offsets (`groups/<group>/offsets.json`, replaced atomically) and its membership
 * lock: the embedded broker allows one live member per group, and the kernel frees the lock if it dies.
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
      .filter((d) => existsSync(join(root, d, "offsets.json")))
      .map((d) => decodeURIComponent(d))
      .sort()
  }

  read(): Offsets {
    const path = join(this.dir, "offsets.json")
    if (!existsSync(path)) return {}
    return JSON.parse(readFileSync(path, "utf8")) as Offsets
  }

  committed(topic: string): Array<{ partition: number; offset: number }> {
    return Object.entries(this.read()[topic] ?? {})
      .map(([partition, offset]) => ({ partition: Number(partition), offset }))
      .sort((a, b) => a.partition - b.partition)
  }

  commit(offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): void {
    mkdirSync(this.dir, { recursive: true })
    // Members owning different partitions commit to the same file: read-modify-write under a lock.
    withFileLock(join(this.dir, "offsets.lock"), () => {
      const all = this.read()
      for (const o of offsets) {
        all[o.topic] ??= {}
        all[o.topic]![String(o.partition)] = o.offset
      }
      writeFileDurably(join(this.dir, "offsets.json"), JSON.stringify(all))
    })
  }

  /** Releases the membership; a group that never committed (a throw-away console group) leaves no trace. */
  leave(locks: ReadonlyArray<FileLock>): void {
    for (const lock of locks) lock.release()
    if (!existsSync(join(this.dir, "offsets.json"))) rmSync(this.dir, { recursive: true, force: true })
  }

  /**
   * Membership of these partitions: one lock per partition, so members may split a topic's partitions
   * between them (static assignment) but never share one. `undefined` when a live member holds any of them.
   */
  join(partitions: ReadonlyArray<{ topic: string; partition: number }>): Array<FileLock> | undefined {
    mkdirSync(this.dir, { recursive: true })
    const locks: Array<FileLock> = []
    for (const { topic, partition } of partitions) {
      const lock = FileLock.tryAcquire(join(this.dir, `member-${encodeURIComponent(topic)}-${partition}.lock`))
      if (lock === undefined) {
        for (const l of locks) l.release()
        return undefined
      }
      locks.push(lock)
    }
    return locks
  }
}
