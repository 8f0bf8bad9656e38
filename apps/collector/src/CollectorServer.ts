import { Broker } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { describeListen, isLoopback, LOOPBACK, secretEquals, secretIn } from "@shop/runtime"
import { trackerScript } from "@shop/tracker"
import { Context, Effect, Layer, Schema } from "effect"
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client"
import { type CountryOptions, countryResolver } from "./clientCountry.ts"
import { ClientRateLimiter, type RateLimit } from "./rateLimit.ts"
import {
  type BodyProblem,
  MAX_EVENT_BYTES,
  MAX_EVENTS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  parseBody,
} from "./requestBody.ts"
import { stampEvent } from "./stampEvent.ts"

/** The collector could not listen (most often: the port is taken, or the host is not an address of this machine). */
export class CollectorServerError extends Schema.TaggedError<CollectorServerError>()("CollectorServerError", {
  message: Schema.String,
}) {}

/** 20 requests/s per client IP, bursts of 100: far above one shopper's pages, far below a flood. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 100 }
/** A request's body must arrive within this long (408 after), so slow senders cannot hold memory and sockets. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000

export interface CollectorOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** The address to bind; 127.0.0.1 unless given (0.0.0.0: every interface). */
  readonly hostname?: string
  /** Origins (e.g. https://shop.example) whose pages may POST from the browser; "*" allows any. */
  readonly allowedOrigins: ReadonlyArray<string>
  /**
   * Write keys of server-side senders (no `Origin`), sent as `Authorization: Bearer <key>`. When there is at
   * least one, a request without `Origin` needs one of them; a request with a key is never rate limited.
   */
  readonly writeKeys?: ReadonlyArray<string>
  /** Per client IP, for requests without a valid write key; default DEFAULT_RATE_LIMIT. */
  readonly rateLimit?: RateLimit
  /** Default MAX_EVENTS_PER_REQUEST (413 beyond). */
  readonly maxEventsPerRequest?: number
  /** When set, `/metrics` needs `Authorization: Bearer <token>`; else it answers loopback clients only. */
  readonly metricsToken?: string | undefined
  readonly bodyTimeoutMs?: number
  /** Where `context.country` comes from for events without one (the browser tracker's); default: database, ZZ. */
  readonly country?: CountryOptions
}

/** The bearer token of a request, if it sent one. */
const bearer = (request: Request): string | undefined => {
  const header = request.headers.get("authorization")
  if (header === null) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(header.trim())
  return match === null ? "" : match[1]!.trim()
}

/**
 * The body of a request, at most `limit` bytes, within `timeoutMs`: counted as it arrives, never trusting
 * Content-Length (chunked bodies have none), so no request holds more than `limit` bytes or a socket for long.
 */
const readBody = async (request: Request, limit: number, timeoutMs: number): Promise<Uint8Array | BodyProblem> => {
  if (request.body === null) return new Uint8Array()
  const reader = request.body.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs)
  })
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timedOut])
      if (next === "timeout") {
        void reader.cancel().catch(() => {})
        return { status: 408, message: `the body did not arrive within ${timeoutMs / 1000} s: send it at once` }
      }
      if (next.done) break
      size += next.value.length
      if (size > limit) {
        void reader.cancel().catch(() => {})
        return { status: 413, message: `request is over ${limit} bytes; the limit is ${limit}` }
      }
      chunks.push(next.value)
    }
  } finally {
    clearTimeout(timer)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/**
 * The HTTP collector: how real browsers send events. `POST /v1/events` takes a JSON array or NDJSON, limits
 * events to 64 KiB, requests to 1 MiB and MAX_EVENTS_PER_REQUEST events, and produces each event to events.raw
 * with `ingest: {keyed}` and, when missing, `context.country` added (stampEvent; validation is the stream
 * processor's job). `GET /v1/tracker.js` serves the browser tracker (packages/tracker). Who may send: a browser page of an
 * allowed origin (any other `Origin` is 403, whatever the content type: browsers send `text/plain` POSTs
 * without a preflight), or a server-side sender (no `Origin`) with a write key when keys are configured (401
 * without or with a wrong one); clients without a key are rate limited per IP (429). `GET /health` says
 * whether the broker answers; `GET /metrics` is for Prometheus (a token, or loopback only). Bun.serve is the
 * HTTP server: a handful of routes needs no framework on top.
 */
export class CollectorServer extends Context.Service<
  CollectorServer,
  { readonly url: string; readonly port: number; readonly listening: string }
>()("@shop/collector/CollectorServer") {
  static readonly layer = (options: CollectorOptions): Layer.Layer<CollectorServer, CollectorServerError, Broker> =>
    Layer.effect(
      CollectorServer,
      Effect.gen(function* () {
        const broker = yield* Broker
        const context = yield* Effect.context<never>()
        const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromiseWith(context)(effect)
        yield* broker.createTopic({ name: TOPIC_RAW, partitions: 3 }).pipe(
          Effect.mapError(
            (e) =>
              new CollectorServerError({
                message: `collector cannot create ${TOPIC_RAW}: ${e.message} (is the broker up?)`,
              }),
          ),
        )
        const hostname = options.hostname ?? LOOPBACK
        const writeKeys = options.writeKeys ?? []
        const maxEvents = options.maxEventsPerRequest ?? MAX_EVENTS_PER_REQUEST
        const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS
        const limiter = new ClientRateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT)
        const countryOf = countryResolver(options.country ?? {})
        const tracker = yield* Effect.tryPromise({
          try: () => trackerScript(),
          catch: (cause) =>
            new CollectorServerError({ message: `collector cannot build tracker.js: ${String(cause)}` }),
        })

        const registry = new Registry()
        collectDefaultMetrics({ register: registry, prefix: "shop_collector_" })
        const requests = new Counter({
          name: "shop_collector_requests_total",
          help: "Requests to /v1/events by HTTP status",
          labelNames: ["status"],
          registers: [registry],
        })
        const accepted = new Counter({
          name: "shop_collector_events_accepted_total",
          help: "Events produced to events.raw",
          registers: [registry],
        })
        const rejected = new Counter({
          name: "shop_collector_requests_rejected_total",
          help: "Requests refused, by reason",
          labelNames: ["reason"],
          registers: [registry],
        })
        const duration = new Histogram({
          name: "shop_collector_request_duration_seconds",
          help: "Time to answer POST /v1/events (includes the broker's acknowledgement)",
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers: [registry],
        })

        const originAllowed = (origin: string) =>
          options.allowedOrigins.includes("*") || options.allowedOrigins.includes(origin)
        const cors = (origin: string | null): Record<string, string> =>
          origin !== null && originAllowed(origin) ? { "access-control-allow-origin": origin, vary: "Origin" } : {}

        const collect = async (request: Request, client: string): Promise<Response> => {
          const origin = request.headers.get("origin")
          const headers = cors(origin)
          const refuse = (status: number, reason: string, message: string, extra: Record<string, string> = {}) => {
            rejected.inc({ reason })
            return json(status, { error: message }, { ...headers, ...extra })
          }
          // A key is checked before anything else, in constant time; it is never logged or echoed.
          const key = bearer(request)
          const trusted = key !== undefined && key !== "" && writeKeys.length > 0 && secretIn(key, writeKeys)
          if (!trusted) {
            const wait = limiter.take(client)
            if (wait > 0) {
              return refuse(
                429,
                "rate_limited",
                `too many requests from ${client}: at most ${(options.rateLimit ?? DEFAULT_RATE_LIMIT).perSecond}/s; retry after ${wait} s`,
                { "retry-after": String(wait) },
              )
            }
          }
          if (origin !== null && !originAllowed(origin)) {
            return refuse(
              403,
              "origin_not_allowed",
              `origin ${origin.slice(0, 200)} is not allowed to send events (COLLECTOR_ALLOWED_ORIGINS)`,
            )
          }
          if (key !== undefined && !trusted) {
            return refuse(
              401,
              "bad_write_key",
              writeKeys.length === 0
                ? "this collector has no write keys (COLLECTOR_WRITE_KEYS): send no Authorization header"
                : "write key not recognized: check the sender's key against COLLECTOR_WRITE_KEYS",
              { "www-authenticate": 'Bearer realm="collector"' },
            )
          }
          if (origin === null && writeKeys.length > 0 && !trusted) {
            return refuse(
              401,
              "no_write_key",
              "server-side senders need a write key: send Authorization: Bearer <key>",
              {
                "www-authenticate": 'Bearer realm="collector"',
              },
            )
          }
          const declared = Number(request.headers.get("content-length") ?? "0")
          if (declared > MAX_REQUEST_BYTES) {
            return refuse(413, "request_too_large", `request is ${declared} bytes; the limit is ${MAX_REQUEST_BYTES}`)
          }
          let bytes: Uint8Array | BodyProblem
          try {
            bytes = await readBody(request, MAX_REQUEST_BYTES, bodyTimeoutMs)
          } catch (e) {
            return refuse(400, "body_unreadable", `the body could not be read: ${e instanceof Error ? e.message : e}`)
          }
          if (!(bytes instanceof Uint8Array)) {
            // The rest of the body was not read: close the connection rather than keep a slow sender on it.
            return refuse(bytes.status, bytes.status === 408 ? "body_timeout" : "request_too_large", bytes.message, {
              connection: "close",
            })
          }
          let body: string
          try {
            body = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
          } catch {
            return refuse(400, "not_utf8", "body is not valid UTF-8")
          }
          const events = parseBody(request.headers.get("content-type"), body, maxEvents)
          if (!Array.isArray(events)) return refuse(events.status, `http_${events.status}`, events.message)
          // The country is looked up once a request, and only when an event lacks one; the IP is not kept.
          let country: string | undefined
          const stamp = { keyed: trusted, country: () => (country ??= countryOf(request.headers, client)) }
          const records = events.map((e) => ({ key: e.key, value: stampEvent(e.text, e.value, stamp) }))
          const over = records.findIndex((r) => Buffer.byteLength(r.value) > MAX_EVENT_BYTES)
          if (over !== -1) {
            return refuse(
              413,
              "event_too_large",
              `event ${over} is over ${MAX_EVENT_BYTES} bytes with the collector's ingest and country fields: send it smaller`,
            )
          }
          try {
            await run(broker.produce(TOPIC_RAW, records))
          } catch (e) {
            return refuse(
              503,
              "broker_unavailable",
              `events.raw did not take the events: ${e instanceof Error ? e.message : String(e)}`,
            )
          }
          accepted.inc(events.length)
          return json(202, { accepted: events.length }, headers)
        }

        const metricsAllowed = (request: Request, client: string): Response | undefined => {
          if (options.metricsToken === undefined || options.metricsToken === "") {
            return isLoopback(client)
              ? undefined
              : json(403, {
                  error: "metrics are served to this machine only: set METRICS_TOKEN to scrape from elsewhere",
                })
          }
          const token = bearer(request)
          return token !== undefined && secretEquals(token, options.metricsToken)
            ? undefined
            : json(
                401,
                { error: "metrics need Authorization: Bearer <METRICS_TOKEN>" },
                { "www-authenticate": 'Bearer realm="metrics"' },
              )
        }

        const server = yield* Effect.acquireRelease(
          Effect.try({
            try: () =>
              Bun.serve({
                port: options.port,
                hostname,
                maxRequestBodySize: MAX_REQUEST_BYTES * 2,
                // Longer than the body deadline, so a slow sender is told 408 before its socket is cut.
                idleTimeout: Math.ceil(bodyTimeoutMs / 1000) + 5,
                routes: {
                  "/v1/tracker.js": (request) =>
                    request.headers.get("if-none-match") === tracker.etag
                      ? new Response(null, { status: 304, headers: { etag: tracker.etag } })
                      : new Response(tracker.source, {
                          headers: {
                            "content-type": "text/javascript; charset=utf-8",
                            "cache-control": "public, max-age=3600",
                            etag: tracker.etag,
                          },
                        }),
                  "/v1/events": {
                    POST: async (request, srv) => {
                      const stop = duration.startTimer()
                      const response = await collect(request, srv.requestIP(request)?.address ?? "unknown")
                      stop()
                      requests.inc({ status: String(response.status) })
                      return response
                    },
                    OPTIONS: (request) => {
                      const headers = cors(request.headers.get("origin"))
                      if (Object.keys(headers).length === 0) {
                        return json(403, { error: "origin not allowed (COLLECTOR_ALLOWED_ORIGINS)" })
                      }
                      return new Response(null, {
                        status: 204,
                        headers: {
                          ...headers,
                          "access-control-allow-methods": "POST, OPTIONS",
                          "access-control-allow-headers": "content-type",
                          "access-control-max-age": "86400",
                        },
                      })
                    },
                  },
                  "/health": async () => {
                    try {
                      await run(broker.listTopics)
                      return json(200, { status: "ok" })
                    } catch (e) {
                      return json(503, {
                        status: "broker unavailable",
                        error: e instanceof Error ? e.message : String(e),
                      })
                    }
                  },
                  "/metrics": async (request, srv) =>
                    metricsAllowed(request, srv.requestIP(request)?.address ?? "") ??
                    new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } }),
                },
                fetch: () =>
                  json(404, { error: "not found: POST /v1/events, GET /v1/tracker.js, GET /health, GET /metrics" }),
              }),
            catch: (cause) =>
              new CollectorServerError({
                message: `collector cannot listen on ${hostname}:${options.port}: ${cause instanceof Error ? cause.message : String(cause)} (set --host/COLLECTOR_HOST or --port/COLLECTOR_PORT)`,
              }),
          }),
          (s) => Effect.promise(() => s.stop(true)),
        )
        const port = server.port ?? options.port
        return CollectorServer.of({ port, ...describeListen(hostname, port) })
      }),
    )
}
