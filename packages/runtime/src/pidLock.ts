import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { dirname } from "node:path"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readPid = (path: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes the lock file `path` for this process (created exclusively, holding our pid): `undefined` when taken,
 * else the pid of the live process that holds it. A lock left by a process that is gone (kill -9, a crash) is
 * taken over.
 */
export const tryPidLock = (path: string): number | undefined => {
  mkdirSync(dirname(path), { recursive: true })
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, "wx")
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return undefined
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
    const pid = readPid(path)
    // A lock being written right now has no pid yet: look again.
    if (pid === undefined) {
      Bun.sleepSync(20)
      if (readPid(path) === undefined) rmSync(path, { force: true })
      continue
    }
    if (pid !== process.pid && alive(pid)) return pid
    rmSync(path, { force: true })
  }
  throw new Error(`could not take the lock ${path}`)
}

/** Removes the lock file if this process holds it. */
export const releasePidLock = (path: string): void => {
  if (readPid(path) === process.pid) rmSync(path, { force: true })
}
