import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { BrokerLayers } from "@shop/broker"
import { isDiskFault } from "@shop/fsio"
import { Cause, Console, Effect, Exit, Runtime } from "effect"
import { Command } from "effect/cli"

/** Ctrl-C (SIGINT) is how a person stops a long-running command: exit 0 for it, not 130. */
const ctrlCIsAStop: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/**
 * Runs a CLI command against the configured broker (Kafka when KAFKA_BROKERS is set, else the embedded log
 * under $DATA_DIR). A failure prints one clear line and exits 1 instead of a stack trace; so does a disk fault
 * (ENOSPC, EDQUOT, EIO, EROFS) thrown by a plain write helper (its FsWriteError message says what to do).
 */
export const runCli = <Name extends string, Input, E, R>(
  command: Command.Command<Name, Input, Record<string, never>, E, R>,
): void => {
  const program = Command.run(command, { version: "0.1.0" }).pipe(
    Effect.provide(BrokerLayers.layer),
    Effect.catch((error) =>
      Console.error(`error: ${error instanceof Error ? error.message : String(error)}`).pipe(
        Effect.andThen(Effect.sync(() => process.exit(1))),
      ),
    ),
    Effect.catchDefect((defect) =>
      isDiskFault(defect)
        ? Console.error(`error: ${(defect as Error).message}`).pipe(Effect.andThen(Effect.sync(() => process.exit(1))))
        : Effect.die(defect),
    ),
    Effect.provide(NodeServices.layer),
  ) as Effect.Effect<void>
  NodeRuntime.runMain(program, { disableErrorReporting: true, teardown: ctrlCIsAStop })
}
