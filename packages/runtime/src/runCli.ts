// Subpath imports: the package root also loads every other platform module (redis, cluster, ...), ~1 s per start.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { isDiskFault } from "@shop/fsio"
import { Cause, Console, Effect, Exit, Layer, Runtime } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { loggingLayer } from "./logLine.ts"
import { BadFlag } from "./UsageError.ts"

/** Ctrl-C (SIGINT) is how a person stops a long-running command: exit 0 for it, not 130. */
const ctrlCIsAStop: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/** Exit code of a command line that is wrong (a bad flag or value), as most Unix tools use. */
export const USAGE_EXIT_CODE = 2

/** One line for a parse or validation error of effect/cli: what was wrong, in the flag's own words. */
export const cliErrorLine = (error: CliError.CliError): string => {
  if (error._tag === "InvalidValue") {
    const name = error.kind === "flag" ? `--${error.option}` : `<${error.option}>`
    if (error.value === "") return `${name} needs a value`
    const expected = error.expected
      .replace(/^Expected an integer.*$/s, "expected a whole number")
      .replace(/^Expected a (finite )?number.*$/s, "expected a number")
      .replace(/^Expected:? ?/, "")
    return `${name} ${error.value}: ${expected}`
  }
  // The first line says it; effect's "Did you mean" guesses by spelling (--port -> --host), not by meaning.
  return error.message.split("\n")[0]!
}

/**
 * Invalid invocations print one line per error and where the flags are listed, on stderr; the help itself only
 * when asked for (--help).
 */
const presenter = (program: string) =>
  CliOutput.layerPresenter({
    present: (event) =>
      event._tag === "InvalidInvocation"
        ? Console.error(
            [...event.errors.map((e) => `error: ${cliErrorLine(e)}`), `(${program} --help lists the flags)`].join("\n"),
          )
        : CliOutput.defaultPresenter.present(event),
  })

/** How a person runs `name`: `bun run dev --` for the package scripts. */
const invocation = (name: string) => `bun run ${name} --`

/**
 * Runs a CLI command. The command provides the services it uses itself (`Command.provide(BrokerLayers.layer)`
 * for the broker: Kafka when KAFKA_BROKERS is set, else the embedded log under $DATA_DIR), so a program that
 * never touches the broker never opens one; runCli accepts only commands whose remaining requirements are
 * effect/cli's own environment. A wrong command line (a bad flag, a value out of range, a BadFlag of the program's own checks)
 * prints one line and exits 2 before anything starts (a UsageError, a configuration refusal, exits 1); any other failure prints one clear line and exits 1 instead of a
 * stack trace; so does a disk fault (ENOSPC, EDQUOT, EIO, EROFS) thrown by a plain write helper (its
 * FsWriteError message says what to do).
 */
export const runCli = <Name extends string, Input, E>(
  command: Command.Command<Name, Input, Record<string, never>, E, Command.Environment>,
  options: { readonly program?: string } = {},
): void => {
  const run = Command.run(command, { version: "0.1.0" })
  const program = run.pipe(
    Effect.catch((error) => {
      // Already presented (one line per error) by the presenter above.
      if (CliError.isCliError(error) && error._tag === "ShowHelp") {
        return Effect.sync(() => process.exit(USAGE_EXIT_CODE))
      }
      const code = error instanceof BadFlag ? USAGE_EXIT_CODE : 1
      return Console.error(`error: ${error instanceof Error ? error.message : String(error)}`).pipe(
        Effect.andThen(Effect.sync(() => process.exit(code))),
      )
    }),
    Effect.catchDefect((defect) =>
      isDiskFault(defect)
        ? Console.error(`error: ${(defect as Error).message}`).pipe(Effect.andThen(Effect.sync(() => process.exit(1))))
        : Effect.die(defect),
    ),
    Effect.provide(
      Layer.mergeAll(NodeServices.layer, presenter(options.program ?? invocation(command.name)), loggingLayer()),
    ),
  )
  NodeRuntime.runMain(program, { disableErrorReporting: true, teardown: ctrlCIsAStop })
}
