import {
  DashboardServer,
  dashboardAccessFromEnv,
  dashboardLayer,
  defaultDashboardHost,
  defaultDashboardPort,
} from "@shop/live"
import { DataDir, runCli } from "@shop/runtime"
import { Console, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"

/** `bun run dashboard`: the live "right now" page and its JSON/SSE API over the lake under $DATA_DIR. */
const command = Command.make(
  "dashboard",
  {
    host: Flag.String("host").pipe(
      Flag.withDescription("Address to listen on (env DASHBOARD_HOST; default 127.0.0.1; 0.0.0.0: every interface)"),
      Flag.withDefault(defaultDashboardHost()),
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription("HTTP port (default $DASHBOARD_PORT or 3000; 0 picks a free one)"),
      Flag.withDefault(defaultDashboardPort()),
    ),
    bootstrapMinutes: Flag.Int("bootstrap-minutes").pipe(
      Flag.withDescription("Minutes of recent Silver commits to fold in at start (older minutes come from gold)"),
      Flag.withDefault(15),
    ),
  },
  ({ host, port, bootstrapMinutes }) =>
    Effect.gen(function* () {
      const server = yield* DashboardServer
      const access = dashboardAccessFromEnv()
      const guarded = access.credentials?.password !== undefined || access.credentials?.token !== undefined
      yield* Console.error(
        `Dashboard: ${server.url}  (listening on ${server.listening}; ${guarded ? "credentials required" : "no credentials: set DASHBOARD_PASSWORD or DASHBOARD_TOKEN before exposing it"})`,
      )
      return yield* Effect.never
    }).pipe(
      Effect.provide(
        Layer.unwrap(
          Effect.gen(function* () {
            const root = yield* DataDir
            return dashboardLayer({ root, port, hostname: host, bootstrapMinutes, ...dashboardAccessFromEnv() })
          }),
        ),
      ),
    ),
).pipe(Command.withDescription("The live dashboard: right-now counters, funnel, top products, orders, pipeline health"))

runCli(command)
