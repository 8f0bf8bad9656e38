import { Effect, Schema } from "effect"

/** A stream worker process exited with an error. */
export class WorkerFailed extends Schema.TaggedError<WorkerFailed>()("WorkerFailed", {
  message: Schema.String,
}) {}

/** Splits partitions round-robin over `workers` processes: [[0,2],[1]] for 3 partitions and 2 workers. */
export const splitPartitions = (partitions: number, workers: number): Array<Array<number>> =>
  Array.from({ length: Math.min(workers, partitions) }, (_, w) =>
    Array.from({ length: partitions }, (_, p) => p).filter((p) => p % workers === w),
  )

/**
 * Runs one stream processor process per share of the partitions (each owns its partitions' files and commit
 * logs, as N processes would on Kafka) and waits for all. Interrupting stops them all (SIGTERM: each finishes
 * its batch in flight). Fails if any of them fails.
 */
export const runWorkers = (
  shares: ReadonlyArray<ReadonlyArray<number>>,
  args: (worker: number) => ReadonlyArray<string>,
) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      shares.map((share, i) =>
        Bun.spawn(["bun", import.meta.dir + "/main.ts", "--partitions", share.join(","), ...args(i)], {
          stdio: ["ignore", "inherit", "inherit"],
        }),
      ),
    ),
    (children) =>
      Effect.promise(() => Promise.all(children.map((c) => c.exited))).pipe(
        Effect.flatMap((codes) =>
          codes.every((c) => c === 0)
            ? Effect.void
            : Effect.fail(new WorkerFailed({ message: `stream workers exited with codes ${codes.join(", ")}` })),
        ),
      ),
    (children) =>
      Effect.promise(async () => {
        for (const c of children) if (c.exitCode === null) c.kill("SIGTERM")
        await Promise.all(children.map((c) => c.exited))
      }),
  )
