import { defaultHost, runCli } from "@shop/runtime"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { bootstrap, ensureSupersetVenv, serve, supersetSettings } from "./index.ts"

/**
 * `bun run superset`: installs Superset into superset/.venv on first use, bootstraps it (metadata DB under
 * $DATA_DIR/superset, admin user, the shop's dashboards) and serves it on :8088 over the lake.
 */
const command = Command.make(
  "superset",
  {
    host: Flag.String("host").pipe(
      Flag.withDescription("Address to listen on (env SUPERSET_HOST; default 127.0.0.1; 0.0.0.0: every interface)"),
      Flag.withDefault(defaultHost("SUPERSET_HOST")),
    ),
    port: Flag.Int("port").pipe(Flag.withDescription("HTTP port"), Flag.withDefault(8088)),
    noServe: Flag.Boolean("no-serve").pipe(
      Flag.withDescription("Install and bootstrap, then exit without serving"),
      Flag.withDefault(false),
    ),
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("Run every bootstrap step even if nothing changed"),
      Flag.withDefault(false),
    ),
  },
  ({ host, port, noServe, force }) =>
    Effect.gen(function* () {
      const settings = yield* supersetSettings(port, host)
      yield* ensureSupersetVenv
      yield* bootstrap(settings, force)
      if (!noServe) yield* serve(settings)
    }),
).pipe(Command.withDescription("Superset with the shop's dashboards over the lake (DuckDB in memory)"))

runCli(command)
