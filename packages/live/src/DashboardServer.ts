import { dirname, join } from "node:path"
import { describeListen, LOOPBACK, secretEquals } from "@shop/runtime"
import { Context, Effect, Layer, Schema } from "effect"
import { LiveData } from "./LiveData.ts"

/** The dashboard could not listen (most often: the port is taken). */
export class DashboardServerError extends Schema.TaggedError<DashboardServerError>()("DashboardServerError", {
  message: Schema.String,
}) {}

/** Who may read the dashboard: a person with the password (HTTP Basic), a program with the token (Bearer). */
export interface DashboardCredentials {
  /** Basic auth user name; default `admin`. */
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** Sent as `Authorization: Bearer <token>`, or as the Basic password. */
  readonly token?: string | undefined
}

export interface ServerOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** The address to bind; 127.0.0.1 unless given (0.0.0.0: every interface). */
  readonly hostname?: string | undefined
  /** When a password or token is set, the page and the API need it. */
  readonly credentials?: DashboardCredentials | undefined
  /** In production (SHOP_ENV=production) the dashboard refuses to start without credentials. */
  readonly production?: boolean | undefined
}

/** The dashboard's bind address and credentials from the environment: DASHBOARD_HOST, DASHBOARD_USERNAME, ... */
export const dashboardAccessFromEnv = (): Pick<ServerOptions, "credentials" | "production"> => ({
  credentials: {
    username: process.env.DASHBOARD_USERNAME || undefined,
    password: process.env.DASHBOARD_PASSWORD || undefined,
    token: process.env.DASHBOARD_TOKEN || undefined,
  },
  production: process.env.SHOP_ENV === "production",
})

/** Whether a request carries the dashboard's password or token (compared in constant time). */
const authorized = (request: Request, c: DashboardCredentials): boolean => {
  const header = request.headers.get("authorization") ?? ""
  const [scheme = "", value = ""] = header.trim().split(/\s+/, 2)
  if (scheme.toLowerCase() === "bearer") return c.token !== undefined && secretEquals(value, c.token)
  if (scheme.toLowerCase() !== "basic") return false
  let decoded: string
  try {
    decoded = Buffer.from(value, "base64").toString("utf8")
  } catch {
    return false
  }
  const colon = decoded.indexOf(":")
  if (colon === -1) return false
  const user = decoded.slice(0, colon)
  const pass = decoded.slice(colon + 1)
  const byPassword =
    c.password !== undefined && secretEquals(user, c.username ?? "admin") && secretEquals(pass, c.password)
  const byToken = c.token !== undefined && secretEquals(pass, c.token)
  return byPassword || byToken
}

const unauthorized = () =>
  new Response("this dashboard needs its password (user and DASHBOARD_PASSWORD) or DASHBOARD_TOKEN as a bearer\n", {
    status: 401,
    headers: {
      "www-authenticate": 'Basic realm="shop-pulse dashboard", charset="UTF-8"',
      "content-type": "text/plain",
    },
  })

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
 * It binds 127.0.0.1 unless given a host; with credentials every route but `/healthz` (which says only "ok")
 * needs them, and in production it does not start without them.
 */
export class DashboardServer extends Context.Service<
  DashboardServer,
  { readonly url: string; readonly port: number; readonly listening: string }
>()("@shop/live/DashboardServer") {
  static readonly layer = (options: ServerOptions): Layer.Layer<DashboardServer, DashboardServerError, LiveData> =>
    Layer.effect(
      DashboardServer,
      Effect.gen(function* () {
        const credentials = options.credentials ?? {}
        const guarded = credentials.password !== undefined || credentials.token !== undefined
        if (options.production === true && !guarded) {
          return yield* new DashboardServerError({
            message:
              "SHOP_ENV=production: the dashboard needs credentials: set DASHBOARD_PASSWORD (people, with DASHBOARD_USERNAME, default admin) or DASHBOARD_TOKEN (programs)",
          })
        }
        const hostname = options.hostname ?? LOOPBACK
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

        type Handler = (req: Request, srv: Bun.Server<undefined>) => Response | Promise<Response>
        const guard = (routes: Record<string, Handler>): Record<string, Handler> =>
          guarded
            ? Object.fromEntries(
                Object.entries(routes).map(([path, handler]) => [
                  path,
                  (req: Request, srv: Bun.Server<undefined>) =>
                    authorized(req, credentials) ? handler(req, srv) : unauthorized(),
                ]),
              )
            : routes

        const server = yield* Effect.acquireRelease(
          Effect.try({
            try: () =>
              Bun.serve({
                port: options.port,
                hostname,
                routes: {
                  // For health checks: says nothing about the shop.
                  "/healthz": () => json({ status: "ok" }),
                  ...guard({
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
                            encoder.encode(
                              `retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(live.snapshot())}\n\n`,
                            ),
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
                  }),
                },
                fetch: (req) =>
                  guarded && !authorized(req, credentials)
                    ? unauthorized()
                    : new Response("not found", { status: 404 }),
              }),
            catch: (cause) =>
              new DashboardServerError({
                message: `dashboard cannot listen on ${hostname}:${options.port}: ${cause instanceof Error ? cause.message : String(cause)} (set --host/DASHBOARD_HOST or --port/DASHBOARD_PORT)`,
              }),
          }),
          (s) => Effect.promise(() => s.stop(true)),
        )
        const port = server.port ?? options.port
        return DashboardServer.of({ port, ...describeListen(hostname, port) })
      }),
    )
}
