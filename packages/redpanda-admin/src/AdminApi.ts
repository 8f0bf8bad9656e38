import { Effect, Schedule, Schema } from "effect"

/** Redpanda's Admin API did not answer, or answered something unexpected (after retries). */
export class AdminApiError extends Schema.TaggedError<AdminApiError>()("AdminApiError", {
  url: Schema.String,
  message: Schema.String,
}) {}

/** `GET /v1/cluster/health_overview` (the fields this project reads). */
export const HealthOverview = Schema.Struct({
  is_healthy: Schema.Boolean,
  controller_id: Schema.Number,
  all_nodes: Schema.Array(Schema.Number),
  nodes_down: Schema.Array(Schema.Number),
  leaderless_partitions: Schema.Array(Schema.String),
  under_replicated_partitions: Schema.optional(Schema.Array(Schema.String)),
})
export type HealthOverview = typeof HealthOverview.Type

const Ready = Schema.Struct({ status: Schema.String })

const getJson = <A>(url: string, schema: Schema.Codec<A, unknown>, okStatuses: ReadonlyArray<number> = [200]) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
      const body = await response.text()
      if (!okStatuses.includes(response.status)) throw new Error(`HTTP ${response.status}: ${body.slice(0, 200)}`)
      return JSON.parse(body) as unknown
    },
    catch: (cause) => new AdminApiError({ url, message: cause instanceof Error ? cause.message : String(cause) }),
  }).pipe(
    Effect.flatMap((json) =>
      Schema.decodeEffect(schema)(json).pipe(
        Effect.mapError((e) => new AdminApiError({ url, message: `unexpected answer: ${e.message}` })),
      ),
    ),
    // A broker that is starting or briefly away: a few tries with backoff before saying so.
    Effect.retry({ schedule: Schedule.exponential("200 millis"), times: 3 }),
  )

/**
 * Redpanda's Admin API (port 9644): readiness and the cluster health overview. Apache Kafka has no such API;
 * callers use it only when REDPANDA_ADMIN_URL is set.
 */
export const adminApiStatus = (baseUrl: string) =>
  Effect.gen(function* () {
    // 503 {"status": "booting"} is a valid answer too: not ready yet.
    const ready = yield* getJson(new URL("/v1/status/ready", baseUrl).toString(), Ready, [200, 503])
    const health = yield* getJson(new URL("/v1/cluster/health_overview", baseUrl).toString(), HealthOverview)
    return { ready: ready.status === "ready", health }
  })
