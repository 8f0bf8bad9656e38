import { dirname, join } from "node:path"
import { Context, Effect, Layer, Schema } from "effect"
import { LiveData } from "./LiveData.ts"

/** The dashboard could not listen (most often: the port is taken). */
export class DashboardServerError extends Schema.TaggedError<DashboardServerError>()("DashboardServerError", {
  message: Schema.String,
}) {}

export interface ServerOptions {
  /** 0 picks a free port. */
  readonly port: number
  readonly hostname?: string
}

const PUBLIC = join(import.meta.dir, "..", "public")
// Served from node_modules: the page must work offline, so no CDN.
const CHART_JS = join(dirname(Bun.resolveSync("chart.js", import.meta.dir)), "chart.umd.min.js")

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json; charset=utf-8" } })
const file = (path: string, type: string) => () =>
  new Response(Bun.file(path), { headers: { "content-type": type, "cache-control": "no-cache" } })
const encoder = new TextEncoder()

/**
 * The live page and its API on Bun's HTTP server: `/` (the page), `/api/*` (JSON), and `/api/stream`
 * (server-sent events: a full snapshot whenever new commits were folded in, at least once a second).
 */
export class DashboardServer extends Context.Service<
  DashboardServer,
  { readonly url: string; readonly port: number }
>()("@shop/live/DashboardServer") {
  static readonly layer = (options: ServerOptions): Layer.Layer<DashboardServer, DashboardServerError, LiveData> =>
    Layer.effect(
      DashboardServer,
      Effect.gen(function* () {
        const live = yield* LiveData
        const clients = new Set<(chunk: Uint8Array) => void>()
        // One snapshot per change for every open page, not one per page.
        const unsubscribe = live.subscribe(() => {
          if (clients.size === 0) return
          const chunk = encoder.encode(`event: snapshot\ndata: ${JSON.stringify(live.snapshot())}\n\n`)
          for (const send of clients) send(chunk)
        })
        yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))
        const limit = (req: Request, fallback: number, max: number) => {
          const n = Number(new URL(req.url).searchParams.get("limit") ?? fallback)
          return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback
        }

        const server = yield* Effect.acquireRelease(
          Effect.try({
            try: () =>
              Bun.serve({
                port: options.port,
                hostname: options.hostname ?? "0.0.0.0",
                routes: {
                  "/": file(join(PUBLIC, "index.html"), "text/html; charset=utf-8"),
                  "/app.js": file(join(PUBLIC, "app.js"), "text/javascript; charset=utf-8"),
                  "/style.css": file(join(PUBLIC, "style.css"), "text/css; charset=utf-8"),
                  "/vendor/chart.umd.min.js": file(CHART_JS, "text/javascript; charset=utf-8"),
                  "/api/snapshot": () => json(live.snapshot()),
                  "/api/summary": () => {
                    const s = live.snapshot()
                    return json({ asOf: s.asOf, ...s.summary })
                  },
                  "/api/minutes": () => {
                    const s = live.snapshot()
                    return json({ asOf: s.asOf, minutes: s.minutes })
                  },
                  "/api/top-products": () => {
                    const s = live.snapshot()
                    return json({ asOf: s.asOf, windows: s.topProducts })
                  },
                  "/api/recent-orders": (req) =>
                    json({ asOf: Date.now(), orders: live.recentOrders(limit(req, 20, 500)) }),
                  "/api/health": () => {
                    const s = live.snapshot()
                    return json({ asOf: s.asOf, ...s.health })
                  },
                  "/api/stream": (req, srv) => {
                    srv.timeout(req, 0)
                    let send: ((chunk: Uint8Array) => void) | undefined
                    const body = new ReadableStream<Uint8Array>({
                      start(controller) {
                        send = (chunk) => {
                          try {
                            controller.enqueue(chunk)
                          } catch {
                            if (send !== undefined) clients.delete(send)
                          }
                        }
                        controller.enqueue(
                          encoder.encode(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(live.snapshot())}\n\n`),
                        )
                        clients.add(send)
                      },
                      cancel() {
                        if (send !== undefined) clients.delete(send)
                      },
                    })
                    return new Response(body, {
                      headers: {
                        "content-type": "text/event-stream",
                        "cache-control": "no-cache",
                        connection: "keep-alive",
                      },
                    })
                  },
                },
                fetch: () => new Response("not found", { status: 404 }),
              }),
            catch: (cause) =>
              new DashboardServerError({
                message: `dashboard cannot listen on port ${options.port}: ${cause instanceof Error ? cause.message : String(cause)} (set --port or DASHBOARD_PORT)`,
              }),
          }),
          (s) => Effect.promise(() => s.stop(true)),
        )
        return DashboardServer.of({ url: `http://localhost:${server.port}`, port: server.port ?? options.port })
      }),
    )
}
