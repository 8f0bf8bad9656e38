import { runCli } from "@shop/runtime"
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
    port: Flag.Int("port").pipe(Flag.withDescription("HTTP port"), Flag.withDefault(8088)),
    host: Flag.String("host").pipe(
      Flag.withDescription("Address to bind (0.0.0.0 in a container); loopback by default"),
      Flag.withDefault("127.0.0.1"),
    ),
    noServe: Flag.Boolean("no-serve").pipe(
      Flag.withDescription("Install and bootstrap, then exit without serving"),
      Flag.withDefault(false),
    ),
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("Run every bootstrap step even if nothing changed"),
      Flag.withDefault(false),
    ),
  },
  ({ port, host, noServe, force }) =>
    Effect.gen(function* () {
      const settings = supersetSettings(port, host)
      yield* ensureSupersetVenv
      yield* bootstrap(settings, force)
      if (!noServe) yield* serve(settings)
    }),
).pipe(Command.withDescription("Superset with the shop's dashboards over the lake (DuckDB in memory)"))

runCli(command)
