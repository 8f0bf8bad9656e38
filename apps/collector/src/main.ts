import { BrokerLayers } from "@shop/broker"
import { BadFlag, commaList, defaultHost, logLine, runCli } from "@shop/runtime"
import { Config, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { CollectorServer, CollectorServerError, DEFAULT_RATE_LIMIT } from "./CollectorServer.ts"
import { MAX_EVENTS_PER_REQUEST } from "./requestBody.ts"

/**
 * `bun run collector`: the HTTP endpoint shops' pages send events to, in front of events.raw. Write keys come
 * from COLLECTOR_WRITE_KEYS only (a flag would show them in `ps`); they are never printed.
 */
const command = Command.make(
  "collector",
  {
    host: Flag.String("host").pipe(
      Flag.withDescription("Address to listen on (env COLLECTOR_HOST; default 127.0.0.1; 0.0.0.0: every interface)"),
      Flag.withDefault(defaultHost("COLLECTOR_HOST")),
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription("Port (env COLLECTOR_PORT; 0 picks a free one)"),
      Flag.withFallbackConfig(Config.Int("COLLECTOR_PORT").pipe(Config.withDefault(8080))),
    ),
    allowedOrigins: Flag.String("allowed-origins").pipe(
      Flag.withDescription("Comma-separated origins allowed to POST from browsers (env COLLECTOR_ALLOWED_ORIGINS)"),
      Flag.withFallbackConfig(Config.String("COLLECTOR_ALLOWED_ORIGINS").pipe(Config.withDefault(""))),
    ),
    countryHeader: Flag.String("country-header").pipe(
      Flag.withDescription(
        "Header your proxy sets to the client's country, e.g. CF-IPCountry (env COLLECTOR_COUNTRY_HEADER); events without context.country get it",
      ),
      Flag.withFallbackConfig(Config.String("COLLECTOR_COUNTRY_HEADER").pipe(Config.withDefault(""))),
    ),
    countryDatabase: Flag.Literals("country-database", ["on", "off"]).pipe(
      Flag.withDescription(
        "Without a header: look the client IP up in the offline GeoLite2 country data (env COLLECTOR_COUNTRY_DATABASE; default on); off: ZZ",
      ),
      Flag.withFallbackConfig(
        Config.Literals(["on", "off"], "COLLECTOR_COUNTRY_DATABASE").pipe(Config.withDefault("on" as const)),
      ),
    ),
    rateLimit: Flag.Int("rate-limit").pipe(
      Flag.withDescription(
        `Requests per second per client IP without a write key, bursts of 5x (env COLLECTOR_RATE_LIMIT; default ${DEFAULT_RATE_LIMIT.perSecond}; 0: off)`,
      ),
      Flag.withFallbackConfig(
        // Set but empty (compose's `${COLLECTOR_RATE_LIMIT:-}`) means the default too.
        Config.String("COLLECTOR_RATE_LIMIT").pipe(
          Config.withDefault(""),
          Config.map((text) => (text.trim() === "" ? DEFAULT_RATE_LIMIT.perSecond : Number(text))),
        ),
      ),
    ),
  },
  ({ host, port, allowedOrigins, countryHeader, countryDatabase, rateLimit }) => {
    const origins = commaList(allowedOrigins)
    return Effect.gen(function* () {
      const writeKeys = commaList(yield* Config.String("COLLECTOR_WRITE_KEYS").pipe(Config.withDefault("")))
      const production = (yield* Config.String("SHOP_ENV").pipe(Config.withDefault(""))) === "production"
      const metricsToken = yield* Config.String("METRICS_TOKEN").pipe(Config.option)
      if (production && writeKeys.length === 0) {
        // Configuration, not the command line: exit 1 like the dashboard's refusal (2 is for a bad flag).
        return yield* new CollectorServerError({
          message:
            "SHOP_ENV=production: set COLLECTOR_WRITE_KEYS (comma-separated, e.g. `openssl rand -hex 32`), or anyone could send events without an Origin",
        })
      }
      if (!Number.isInteger(rateLimit) || rateLimit < 0) {
        return yield* new BadFlag({ message: `--rate-limit must be a whole number >= 0, got ${rateLimit}` })
      }
      const layer = CollectorServer.layer({
        port,
        hostname: host,
        allowedOrigins: origins,
        writeKeys,
        rateLimit: { perSecond: rateLimit, burst: rateLimit * 5 },
        metricsToken: Option.getOrUndefined(metricsToken),
        country: { header: countryHeader, database: countryDatabase === "on" },
      })
      yield* Effect.gen(function* () {
        const { url, listening } = yield* CollectorServer
        logLine(`[collector] listening on ${listening}: ${url}/v1/events (POST), /v1/tracker.js, /health, /metrics`)
        logLine(
          `[collector] browser origins allowed: ${origins.length === 0 ? "none (server-to-server only)" : origins.join(", ")}`,
        )
        logLine(
          `[collector] server-side senders: ${writeKeys.length === 0 ? "no write keys configured (COLLECTOR_WRITE_KEYS): requests without Origin are accepted as they are (refused at start with SHOP_ENV=production)" : `${writeKeys.length} write key(s) configured; requests without Origin need one`}`,
        )
        logLine(
          `[collector] context.country of events without one: ${countryHeader === "" ? "" : `header ${countryHeader}, else `}${countryDatabase === "on" ? "the offline IP database (GeoLite2), else " : ""}ZZ; client IPs are not stored`,
        )
        logLine(
          `[collector] limits: ${MAX_EVENTS_PER_REQUEST} events and 1 MiB per request; ${rateLimit === 0 ? "no rate limit" : `${rateLimit} requests/s per client IP without a key (bursts of ${rateLimit * 5})`}`,
        )
        return yield* Effect.never
      }).pipe(Effect.provide(Layer.fresh(layer)))
    }).pipe(Effect.scoped)
  },
).pipe(Command.withDescription("HTTP collector: POST /v1/events (JSON array or NDJSON) -> events.raw"))

runCli(command.pipe(Command.provide(BrokerLayers.layer)))
