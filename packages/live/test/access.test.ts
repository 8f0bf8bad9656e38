import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { networkInterfaces, tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { DashboardServer, dashboardLayer, type ServerOptions } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

// An empty lake: access rules do not depend on data.
const dir = mkdtempSync(join(tmpdir(), "live-access-"))
const scopes: Array<Scope.Closeable> = []
afterAll(async () => {
  for (const s of scopes) await Effect.runPromise(Scope.close(s, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})

const start = async (options: Partial<ServerOptions> = {}) => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const exit = await Effect.runPromiseExit(
    Layer.buildWithScope(dashboardLayer({ root: dir, port: 0, bootstrapMinutes: 0, log: () => {}, ...options }), scope),
  )
  if (Exit.isFailure(exit)) return { error: String(exit.cause) }
  return { server: Context.get(exit.value, DashboardServer) }
}

const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address

const status = async (url: string, headers: Record<string, string> = {}) => {
  try {
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) })
    await r.body?.cancel()
    return r.status
  } catch {
    return "refused"
  }
}
const basic = (user: string, pass: string) => ({ authorization: `Basic ${btoa(`${user}:${pass}`)}` })

describe("dashboard: safe by default", () => {
  test("development: binds 127.0.0.1 and stays open there; hostname 0.0.0.0 listens on every interface", async () => {
    const { server } = await start()
    expect(server!.listening).toBe(`127.0.0.1:${server!.port} (this machine only)`)
    expect(await status(`http://127.0.0.1:${server!.port}/api/snapshot`)).toBe(200)
    if (outside === undefined) throw new Error("this machine has no non-loopback IPv4 address to test binding with")
    expect(await status(`http://${outside}:${server!.port}/api/snapshot`)).toBe("refused")
    const open = await start({ hostname: "0.0.0.0" })
    expect(await status(`http://${outside}:${open.server!.port}/api/health`)).toBe(200)
  })

  test("production refuses to start without a password or token, with a line saying what to set", async () => {
    const { error } = await start({ production: true })
    expect(error).toContain("SHOP_ENV=production")
    expect(error).toContain("DASHBOARD_PASSWORD")
    expect((await start({ production: true, credentials: { username: "admin" } })).error).toContain("DASHBOARD_TOKEN")
  })

  test("production with credentials: the page, the JSON and the SSE API are 401 without them, 200 with them", async () => {
    const { server } = await start({
      production: true,
      hostname: "0.0.0.0",
      credentials: { username: "ops", password: "pw-correct-horse", token: "tok-battery-staple" },
    })
    const base = `http://127.0.0.1:${server!.port}`
    for (const path of ["/", "/app.js", "/api/snapshot", "/api/recent-orders", "/api/health", "/api/stream", "/nope"]) {
      expect(await status(`${base}${path}`), path).toBe(401)
      expect(await status(`${base}${path}`, basic("ops", "pw-wrong")), path).toBe(401)
      expect(await status(`${base}${path}`, basic("admin", "pw-correct-horse")), path).toBe(401)
      expect(await status(`${base}${path}`, { authorization: "Bearer tok-battery-stapl" }), path).toBe(401)
      expect(await status(`http://${outside}:${server!.port}${path}`), path).toBe(401)
    }
    const unauthorized = await fetch(`${base}/api/snapshot`)
    expect(unauthorized.headers.get("www-authenticate")).toContain("Basic")
    expect(await unauthorized.text()).not.toContain("orders")
    for (const path of ["/", "/app.js", "/api/snapshot", "/api/recent-orders", "/api/health", "/api/stream"]) {
      expect(await status(`${base}${path}`, basic("ops", "pw-correct-horse")), path).toBe(200)
      expect(await status(`${base}${path}`, { authorization: "Bearer tok-battery-staple" }), path).toBe(200)
      expect(await status(`${base}${path}`, basic("anyone", "tok-battery-staple")), path).toBe(200)
    }
    expect(await status(`${base}/nope`, basic("ops", "pw-correct-horse"))).toBe(404)
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: "ok" })
  })

  test("the program: SHOP_ENV=production without credentials exits 1 with one line; --host sets the address", async () => {
    const main = join(import.meta.dir, "../../../apps/dashboard/src/main.ts")
    const env = { ...process.env, DATA_DIR: dir, DASHBOARD_HOST: "", DASHBOARD_PASSWORD: "", DASHBOARD_TOKEN: "" }
    const refused = Bun.spawn(["bun", main, "--port", "0"], {
      env: { ...env, SHOP_ENV: "production" },
      stderr: "pipe",
      stdout: "pipe",
    })
    expect(await refused.exited).toBe(1)
    const err = (await new Response(refused.stderr).text()).trim()
    expect(err.split("\n")).toHaveLength(1)
    expect(err).toMatch(/^error: SHOP_ENV=production: the dashboard needs credentials: set DASHBOARD_PASSWORD/)

    const started = Bun.spawn(["bun", main, "--port", "0", "--host", "0.0.0.0", "--bootstrap-minutes", "0"], {
      env: { ...env, SHOP_ENV: "production", DASHBOARD_PASSWORD: "pw-1" },
      stderr: "pipe",
      stdout: "ignore",
    })
    const reader = started.stderr.getReader()
    let text = ""
    const deadline = Date.now() + 20_000
    while (!/listening on/.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    const m = /listening on 0\.0\.0\.0:(\d+) \(every interface\); credentials required/.exec(text)
    started.kill("SIGINT")
    await started.exited
    expect(m, text).not.toBeNull()
  }, 60_000)
})
