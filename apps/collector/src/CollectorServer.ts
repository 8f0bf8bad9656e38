import { Broker } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Context, Effect, Layer } from "effect"
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client"
import { MAX_REQUEST_BYTES, parseBody } from "./requestBody.ts"

export interface CollectorOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** Origins (e.g. https://shop.example) whose pages may POST from the browser; "*" allows any. */
  readonly allowedOrigins: ReadonlyArray<string>
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/**
 * The HTTP collector: how real browsers send events. `POST /v1/events` takes a JSON array or NDJSON, limits
 * events to 64 KiB and requests to 1 MiB, and produces each event's bytes unchanged to events.raw (validation
 * is the stream processor's job); `GET /health` says whether the broker answers; `GET /metrics` is for
 * Prometheus. Bun.serve is the HTTP server: a handful of routes needs no framework on top.
 */
export class CollectorServer extends Context.Service<CollectorServer, { readonly url: string }>()(
  "@shop/collector/CollectorServer",
) {
  static readonly layer = (options: CollectorOptions) =>
    Layer.effect(
      CollectorServer,
      Effect.gen(function* () {
        const broker = yield* Broker
        const context = yield* Effect.context<never>()
        const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromiseWith(context)(effect)
        yield* broker.createTopic({ name: TOPIC_RAW, partitions: 3 })

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

        const cors = (origin: string | null): Record<string, string> =>
          origin !== null && (options.allowedOrigins.includes("*") || options.allowedOrigins.includes(origin))
            ? { "access-control-allow-origin": origin, vary: "Origin" }
            : {}

        const collect = async (request: Request): Promise<Response> => {
          const headers = cors(request.headers.get("origin"))
          const refuse = (status: number, reason: string, message: string) => {
            rejected.inc({ reason })
            return json(status, { error: message }, headers)
          }
          const declared = Number(request.headers.get("content-length") ?? "0")
          if (declared > MAX_REQUEST_BYTES) {
            return refuse(413, "request_too_large", `request is ${declared} bytes; the limit is ${MAX_REQUEST_BYTES}`)
          }
          const bytes = new Uint8Array(await request.arrayBuffer())
          if (bytes.length > MAX_REQUEST_BYTES) {
            return refuse(
              413,
              "request_too_large",
              `request is ${bytes.length} bytes; the limit is ${MAX_REQUEST_BYTES}`,
            )
          }
          let body: string
          try {
            body = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
          } catch {
            return refuse(400, "not_utf8", "body is not valid UTF-8")
          }
          const events = parseBody(request.headers.get("content-type"), body)
          if (!Array.isArray(events)) return refuse(events.status, `http_${events.status}`, events.message)
          try {
            await run(
              broker.produce(
                TOPIC_RAW,
                events.map((e) => ({ key: e.key, value: e.text })),
              ),
            )
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

        const server = yield* Effect.acquireRelease(
          Effect.sync(() =>
            Bun.serve({
              port: options.port,
              maxRequestBodySize: MAX_REQUEST_BYTES * 2,
              routes: {
                "/v1/events": {
                  POST: async (request) => {
                    const stop = duration.startTimer()
                    const response = await collect(request)
                    stop()
                    requests.inc({ status: String(response.status) })
                    return response
                  },
                  OPTIONS: (request) => {
                    const headers = cors(request.headers.get("origin"))
                    if (Object.keys(headers).length === 0) return json(403, { error: "origin not allowed" })
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
                "/metrics": async () =>
                  new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } }),
              },
              fetch: () => json(404, { error: "not found: POST /v1/events, GET /health, GET /metrics" }),
            }),
          ),
          (s) => Effect.promise(() => s.stop(true)),
        )
        return CollectorServer.of({ url: `http://localhost:${server.port}` })
      }),
    )
}
