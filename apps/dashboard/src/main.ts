import { resolve } from "node:path"
import { DashboardServer, dashboardLayer, defaultDashboardPort } from "@shop/live"
import { runCli } from "@shop/runtime"
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"

/** `bun run dashboard`: the live "right now" page and its JSON/SSE API over the lake under $DATA_DIR. */
const command = Command.make(
  "dashboard",
  {
    port: Flag.Int("port").pipe(
      Flag.withDescription("HTTP port (default $DASHBOARD_PORT or 3000; 0 picks a free one)"),
      Flag.withDefault(defaultDashboardPort()),
    ),
    bootstrapMinutes: Flag.Int("bootstrap-minutes").pipe(
      Flag.withDescription("Minutes of recent Silver commits to fold in at start (older minutes come from gold)"),
      Flag.withDefault(15),
    ),
  },
  ({ port, bootstrapMinutes }) =>
    Effect.gen(function* () {
      const server = yield* DashboardServer
      yield* Console.error(`Dashboard: ${server.url}`)
      return yield* Effect.never
    }).pipe(
      Effect.provide(dashboardLayer({ root: resolve(process.env.DATA_DIR ?? "./data"), port, bootstrapMinutes })),
    ),
).pipe(Command.withDescription("The live dashboard: right-now counters, funnel, top products, orders, pipeline health"))

runCli(command)
