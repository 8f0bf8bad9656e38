import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { Effect, Schema } from "effect"

/** Another `bun run dev` runs on this data directory. */
export class DevAlreadyRunning extends Schema.TaggedError<DevAlreadyRunning>()("DevAlreadyRunning", {
  dataDir: Schema.String,
  pid: Schema.Number,
}) {
  override get message() {
    return `another bun run dev (pid ${this.pid}) is already running on ${this.dataDir}: stop it first (Ctrl-C in its terminal, or kill ${this.pid}), or give this one its own DATA_DIR=...`
  }
}

/** The lock file of `bun run dev` in a data directory: it holds the running process's pid. */
export const devLockPath = (dataDir: string) => join(dataDir, "_dev", "dev.pid")

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const tryCreate = (path: string): boolean => {
  try {
    const fd = openSync(path, "wx")
    writeSync(fd, `${process.pid}\n`)
    closeSync(fd)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
    throw e
  }
}

/**
 * Takes the data directory for this `bun run dev` until the scope closes: a second one on the same directory
 * fails with the first one's pid. A lock left by a process that is gone (kill -9, a crash) is taken over.
 */
export const devLock = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const path = devLockPath(dataDir)
      mkdirSync(join(dataDir, "_dev"), { recursive: true })
      for (let attempt = 0; attempt < 3; attempt++) {
        if (tryCreate(path)) return Effect.succeed(path)
        const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10)
        if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
          return Effect.fail(new DevAlreadyRunning({ dataDir, pid }))
        }
        rmSync(path, { force: true })
      }
      return Effect.die(new Error(`could not take ${path}`))
    }),
    (path) =>
      Effect.sync(() => {
        try {
          if (Number.parseInt(readFileSync(path, "utf8"), 10) === process.pid) rmSync(path, { force: true })
        } catch {
          // already gone
        }
      }),
  )

/** Whether something already listens on host:port (checked before anything starts, so nothing is produced). */
export const portInUse = (host: string, port: number): Promise<NodeJS.ErrnoException | undefined> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
