import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { writeFileDurably } from "./durableFile.ts"
import { FileLock } from "./flock.ts"

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
    const all = this.read()
    for (const o of offsets) {
      all[o.topic] ??= {}
      all[o.topic]![String(o.partition)] = o.offset
    }
    writeFileDurably(join(this.dir, "offsets.json"), JSON.stringify(all))
  }

  /** Releases the membership; a group that never committed (a throw-away console group) leaves no trace. */
  leave(lock: FileLock): void {
    lock.release()
    if (!existsSync(join(this.dir, "offsets.json"))) rmSync(this.dir, { recursive: true, force: true })
  }

  /** The membership lock, or `undefined` when another live member holds the group. */
  join(): FileLock | undefined {
    mkdirSync(this.dir, { recursive: true })
    return FileLock.tryAcquire(join(this.dir, "member.lock"))
  }
}
