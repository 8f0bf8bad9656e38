import type { WriteFn } from "@shop/fsio"
import { Effect } from "effect"
import { type LakeDiskFull, LakeIOError, lakeError } from "./LakeError.ts"
import { type HeldLock, swapLockPath, waitForLock } from "./TableLock.ts"

/** Where a crash spec may kill a compaction: after each durable step. */
export type CompactionPoint = "outputWritten" | "staged" | "logged" | "exchanged" | "cleaned"

/** What every step of one compaction run shares: the lake, its IO error mapping, fault seams and the swap lock. */
export interface CompactionContext {
  readonly root: string
  readonly fail: (what: string, consequence?: string) => (cause: unknown) => LakeIOError | LakeDiskFull
  readonly io: <A>(what: string, f: () => A, consequence?: string) => Effect.Effect<A, LakeIOError | LakeDiskFull>
  readonly writeOptions: { readonly write?: WriteFn }
  readonly at: (point: CompactionPoint) => void
  /** The table's exclusive swap lock, or a typed error after `lockTimeoutMs`. */
  readonly swapLock: (table: string) => Effect.Effect<HeldLock, LakeIOError>
}

export const compactionContext = (
  root: string,
  options: {
    readonly write?: WriteFn | undefined
    readonly faults?: ((point: CompactionPoint) => void) | undefined
    readonly lockTimeoutMs?: number | undefined
  },
): CompactionContext => {
  const lockTimeoutMs = options.lockTimeoutMs ?? 60_000
  const fail =
    (what: string, consequence?: string) =>
    (cause: unknown): LakeIOError | LakeDiskFull =>
      lakeError(what, cause, { root, ...(consequence === undefined ? {} : { consequence }) })
  return {
    root,
    fail,
    io: <A>(what: string, f: () => A, consequence?: string) => Effect.try({ try: f, catch: fail(what, consequence) }),
    writeOptions: options.write === undefined ? {} : { write: options.write },
    at: options.faults ?? (() => {}),
    swapLock: (table: string) =>
      waitForLock(swapLockPath(root, table), "exclusive", lockTimeoutMs).pipe(
        Effect.flatMap((l) =>
          l === undefined
            ? Effect.fail(
                new LakeIOError({
                  message: `${table}: writers or readers held the swap lock for ${lockTimeoutMs} ms; try again later`,
                }),
              )
            : Effect.succeed(l),
        ),
      ),
  }
}

/** Compaction's progress lines, as `[compact] ...` in the program's log (Effect.log with its component). */
export const note = (line: string) => Effect.log(line).pipe(Effect.annotateLogs("component", "compact"))
