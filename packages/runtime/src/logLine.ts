import { Effect, Layer, Logger, type LogLevel, References } from "effect"

const LEVELS: Record<string, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  none: "None",
}

/** LOG_LEVEL (trace, debug, info, warn, error, none; default info). */
export const configuredLogLevel = (): LogLevel.LogLevel =>
  LEVELS[(process.env.LOG_LEVEL ?? "info").toLowerCase()] ?? "Info"

/** The programs' progress lines as people read them: the message alone, on stderr. */
const plainLogger = Logger.make<unknown, void>(({ message }) => {
  const parts = Array.isArray(message) ? message : [message]
  process.stderr.write(`${parts.map(String).join(" ")}\n`)
})

/**
 * Effect's logger as the programs use it: LOG_FORMAT=json gives one JSON object per line (Effect's own
 * `formatJson`: message, level, timestamp, annotations such as the component) on stderr, for log shippers;
 * anything else keeps the plain lines. LOG_LEVEL filters both.
 */
export const loggingLayer = (): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([process.env.LOG_FORMAT === "json" ? Logger.withConsoleError(Logger.formatJson) : plainLogger]),
    Layer.succeed(References.MinimumLogLevel, configuredLogLevel()),
  )

let layer: Layer.Layer<never> | undefined

/**
 * Logs one progress line from plain callbacks (the `log` options of the pipeline's loops). A leading
 * `[component]` becomes the `component` annotation of the JSON form.
 */
export const logLine = (line: string, level: LogLevel.Severity = "Info"): void => {
  layer ??= loggingLayer()
  const m = /^\[([\w.-]+)\] ?(.*)$/s.exec(line)
  const message = process.env.LOG_FORMAT === "json" && m !== null ? m[2]! : line
  Effect.runSync(
    Effect.logWithLevel(level)(message).pipe(
      Effect.annotateLogs("component", m?.[1] ?? "shop-pulse"),
      Effect.provide(layer),
    ),
  )
}
