import { logLine, runCli } from "@shop/runtime"
import { Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { CollectorServer } from "./CollectorServer.ts"

/** `bun run collector`: the HTTP endpoint shops' pages send events to, in front of events.raw. */
const command = Command.make(
  "collector",
  {
    port: Flag.Int("port").pipe(
      Flag.withDescription("Port (env COLLECTOR_PORT; 0 picks a free one)"),
      Flag.withDefault(Number(process.env.COLLECTOR_PORT ?? 8080)),
    ),
    allowedOrigins: Flag.String("allowed-origins").pipe(
      Flag.withDescription("Comma-separated origins allowed to POST from browsers (env COLLECTOR_ALLOWED_ORIGINS)"),
      Flag.withDefault(process.env.COLLECTOR_ALLOWED_ORIGINS ?? ""),
    ),
  },
  ({ port, allowedOrigins }) => {
    const origins = allowedOrigins
      .split(",")
      .map((o) => o.trim())
      .filter((o) => o !== "")
    return Effect.gen(function* () {
      const { url } = yield* CollectorServer
      logLine(`[collector] listening on ${url}: POST /v1/events, GET /health, GET /metrics`)
      logLine(
        `[collector] browser origins allowed: ${origins.length === 0 ? "none (server-to-server only)" : origins.join(", ")}`,
      )
      return yield* Effect.never
    }).pipe(Effect.provide(Layer.fresh(CollectorServer.layer({ port, allowedOrigins: origins }))), Effect.scoped)
  },
).pipe(Command.withDescription("HTTP collector: POST /v1/events (JSON array or NDJSON) -> events.raw"))

runCli(command)
