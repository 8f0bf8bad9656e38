import { createServer } from "node:net"
import { join } from "node:path"
import { releasePidLock, tryPidLock } from "@shop/runtime"
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

/**
 * Takes the data directory for this `bun run dev` until the scope closes: a second one on the same directory
 * fails with the first one's pid. A lock left by a process that is gone (kill -9, a crash) is taken over.
 */
export const devLock = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const path = devLockPath(dataDir)
      const holder = tryPidLock(path)
      return holder === undefined ? Effect.succeed(path) : Effect.fail(new DevAlreadyRunning({ dataDir, pid: holder }))
    }),
    (path) => Effect.sync(() => releasePidLock(path)),
  )

/** Whether something already listens on host:port (checked before anything starts, so nothing is produced). */
export const portInUse = (host: string, port: number): Promise<NodeJS.ErrnoException | undefined> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
