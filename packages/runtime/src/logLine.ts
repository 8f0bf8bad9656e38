import { Config, Effect, Layer, Logger, type LogLevel, References } from "effect"

const LEVELS: Record<string, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  none: "None",
}

/** LOG_LEVEL (trace, debug, info, warn, error, none; default info) and LOG_FORMAT (json, else plain lines). */
const LogSettings = Config.all({
  level: Config.String("LOG_LEVEL").pipe(
    Config.withDefault("info"),
    Config.map((level): LogLevel.LogLevel => LEVELS[level.toLowerCase()] ?? "Info"),
  ),
  json: Config.String("LOG_FORMAT").pipe(
    Config.withDefault(""),
    Config.map((format) => format === "json"),
  ),
})

/** The `component` of lines that name none: the program itself. */
const PROGRAM = "shop-pulse"

/**
 * The programs' progress lines as people read them, on stderr: the message after its component in brackets
 * (`[gold] recomputed ...`, from `Effect.annotateLogs("component", "gold")`), or alone for the program's own.
 */
export const plainLine = ({ message, fiber }: Pick<Logger.Options<unknown>, "message" | "fiber">): string => {
  const parts = Array.isArray(message) ? message : [message]
  const component = fiber.getRef(References.CurrentLogAnnotations).component
  const prefix = typeof component === "string" && component !== PROGRAM ? `[${component}] ` : ""
  return `${prefix}${parts.map(String).join(" ")}`
}

const plainLogger = Logger.make<unknown, void>((options) => {
  process.stderr.write(`${plainLine(options)}\n`)
})

/** For specs: every log line in its plain form, into `lines`. */
export const collectLogs = (lines: Array<string>): Layer.Layer<never> =>
  Logger.layer([Logger.make((options) => void lines.push(plainLine(options)))])

/**
 * Effect's logger as the programs use it: LOG_FORMAT=json gives one JSON object per line (Effect's own
 * `formatJson`: message, level, timestamp, annotations such as the component) on stderr, for log shippers;
 * anything else keeps the plain lines. LOG_LEVEL filters both.
 */
export const loggingLayer = (): Layer.Layer<never> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const { level, json } = yield* LogSettings
      return Layer.mergeAll(
        Logger.layer([json ? Logger.withConsoleError(Logger.formatJson) : plainLogger]),
        Layer.succeed(References.MinimumLogLevel, level),
      )
    }).pipe(Effect.orDie),
  )

let layer: Layer.Layer<never> | undefined

/**
 * Logs one progress line from plain callbacks (the `log` options of code that runs outside an Effect, such as
 * compaction's steps). A leading `[component]` becomes the `component` annotation; Effect code uses
 * `Effect.log(...).pipe(Effect.annotateLogs("component", ...))` instead.
 */
export const logLine = (line: string, level: LogLevel.Severity = "Info"): void => {
  layer ??= loggingLayer()
  const m = /^\[([\w.-]+)\] ?(.*)$/s.exec(line)
  Effect.runSync(
    Effect.logWithLevel(level)(m === null ? line : m[2]!).pipe(
      Effect.annotateLogs("component", m?.[1] ?? PROGRAM),
      Effect.provide(layer),
    ),
  )
}
