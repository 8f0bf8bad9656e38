import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { networkInterfaces, tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { secretEquals, secretIn } from "@shop/runtime"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { ClientRateLimiter, type CollectorOptions, CollectorServer, MAX_EVENTS_PER_REQUEST } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "collector-security-"))
const scopes: Array<Scope.Closeable> = []
afterAll(async () => {
  for (const s of scopes) await Effect.runPromise(Scope.close(s, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})

const ORIGIN = "https://shop.example"
let n = 0

/** A collector on a free port over its own embedded broker; `raw()` counts what reached events.raw. */
const start = async (options: Partial<CollectorOptions> = {}) => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const broker = layerEmbeddedAt(join(dir, `broker-${n++}`))
  const ctx = await Effect.runPromise(
    Layer.buildWithScope(
      Layer.merge(
        broker,
        CollectorServer.layer({ port: 0, allowedOrigins: [ORIGIN], ...options }).pipe(Layer.provide(broker)),
      ),
      scope,
    ),
  )
  const server = Context.get(ctx, CollectorServer)
  const raw = () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const ends = yield* (yield* Broker).endOffsets(TOPIC_RAW)
        return ends.reduce((sum, e) => sum + e.offset, 0)
      }).pipe(Effect.provideContext(ctx)),
    )
  const post = (body: string, headers: Record<string, string> = {}, contentType = "text/plain") =>
    fetch(`http://127.0.0.1:${server.port}/v1/events`, {
      method: "POST",
      headers: { "content-type": contentType, ...headers },
      body,
    })
  return { server, raw, post }
}

/** An address of this machine that is not loopback, to see whether a server listens beyond 127.0.0.1. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address

const answers = async (host: string, port: number) => {
  try {
    await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(2_000) })
    return true
  } catch {
    return false
  }
}

const event = (i: number) => `{"event_id":"e-${i}","session_id":"s-${i % 7}"}`

describe("collector: safe by default", () => {
  test("binds 127.0.0.1 by default; hostname 0.0.0.0 listens on every interface", async () => {
    const closed = await start()
    expect(closed.server.listening).toBe(`127.0.0.1:${closed.server.port} (this machine only)`)
    expect(await answers("127.0.0.1", closed.server.port)).toBe(true)
    if (outside === undefined) throw new Error("this machine has no non-loopback IPv4 address to test binding with")
    expect(await answers(outside, closed.server.port)).toBe(false)
    const open = await start({ hostname: "0.0.0.0" })
    expect(open.server.listening).toContain("every interface")
    expect(await answers(outside, open.server.port)).toBe(true)
  })

  test("the program: 127.0.0.1 unless --host or COLLECTOR_HOST; in production not without write keys", async () => {
    const run = async (args: Array<string>, env: Record<string, string> = {}) => {
      const proc = Bun.spawn(["bun", join(import.meta.dir, "../src/main.ts"), "--port", "0", ...args], {
        env: { ...process.env, DATA_DIR: join(dir, `cli-${n++}`), COLLECTOR_HOST: "", SHOP_ENV: "", ...env },
        stderr: "pipe",
        stdout: "ignore",
      })
      const reader = proc.stderr.getReader()
      let text = ""
      const deadline = Date.now() + 20_000
      while (!/listening on (\S+):(\d+)/.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      const m = /listening on (\S+):(\d+)/.exec(text)
      if (m === null) {
        proc.kill()
        throw new Error(`no listening line from the collector:\n${text}`)
      }
      const port = Number(m[2])
      const reach = { host: m[1], local: await answers("127.0.0.1", port), outside: await answers(outside!, port) }
      proc.kill("SIGINT")
      await proc.exited
      expect(text).not.toContain("secret-key") // keys are never printed
      return reach
    }
    expect(await run([], { COLLECTOR_WRITE_KEYS: "secret-key" })).toEqual({
      host: "127.0.0.1",
      local: true,
      outside: false,
    })
    expect(await run(["--host", "0.0.0.0"])).toEqual({ host: "0.0.0.0", local: true, outside: true })
    expect(await run([], { COLLECTOR_HOST: "0.0.0.0" })).toEqual({ host: "0.0.0.0", local: true, outside: true })
    // In production a collector without write keys would take anyone's events without an Origin: it refuses.
    const refused = Bun.spawn(["bun", join(import.meta.dir, "../src/main.ts"), "--port", "0"], {
      env: { ...process.env, DATA_DIR: join(dir, `cli-${n++}`), SHOP_ENV: "production", COLLECTOR_WRITE_KEYS: "" },
      stderr: "pipe",
      stdout: "ignore",
    })
    expect(await refused.exited).toBe(1)
    const line = (await new Response(refused.stderr).text()).trim()
    expect(line.split("\n")).toHaveLength(1)
    expect(line).toStartWith("error: SHOP_ENV=production: set COLLECTOR_WRITE_KEYS")
  }, 60_000)

  test("a foreign origin is 403 whatever the content type (text/plain needs no preflight) and lands nowhere", async () => {
    const c = await start()
    for (const type of ["text/plain", "application/json", "application/x-ndjson"]) {
      const body = type === "application/json" ? `[${event(1)}]` : `${event(1)}\n${event(2)}`
      const response = await c.post(body, { origin: "https://evil.example" }, type)
      expect(response.status).toBe(403)
      expect(response.headers.get("access-control-allow-origin")).toBeNull()
      expect(((await response.json()) as { error: string }).error).toContain("COLLECTOR_ALLOWED_ORIGINS")
    }
    expect((await c.post(event(3), { origin: "null" })).status).toBe(403)
    expect(await c.raw()).toBe(0)
    const ok = await c.post(`${event(4)}\n${event(5)}`, { origin: ORIGIN })
    expect(ok.status).toBe(202)
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    expect(await c.raw()).toBe(2)
  })

  test(`more than ${MAX_EVENTS_PER_REQUEST} events in a request is 413, also 1 MiB of "1\\n" lines; nothing lands`, async () => {
    const c = await start()
    const lines = (k: number) => Array.from({ length: k }, (_, i) => event(i)).join("\n")
    const json = (k: number) => `[${Array.from({ length: k }, (_, i) => event(i)).join(",")}]`
    const tooMany = [
      await c.post(lines(MAX_EVENTS_PER_REQUEST + 1)),
      await c.post(json(MAX_EVENTS_PER_REQUEST + 1), {}, "application/json"),
      await c.post("1\n".repeat(512 * 1024 - 1)),
    ]
    for (const response of tooMany) {
      expect(response.status).toBe(413)
      expect(((await response.json()) as { error: string }).error).toContain(`limit is ${MAX_EVENTS_PER_REQUEST}`)
    }
    expect(await c.raw()).toBe(0)
    expect((await c.post(lines(MAX_EVENTS_PER_REQUEST))).status).toBe(202)
    expect(await c.raw()).toBe(MAX_EVENTS_PER_REQUEST)
  })

  test("a client over its rate is 429 with Retry-After; a sender with a write key is not limited", async () => {
    // One token per 1,000 s: no refill while the test runs, however slow the machine (1/s refilled a token
    // between the third and fourth request on a loaded one).
    const c = await start({ rateLimit: { perSecond: 0.001, burst: 3 }, writeKeys: ["k-good"] })
    const statuses: Array<number> = []
    for (let i = 0; i < 5; i++) statuses.push((await c.post(event(i), { origin: ORIGIN })).status)
    expect(statuses).toEqual([202, 202, 202, 429, 429])
    const limited = await c.post(event(9), { origin: ORIGIN })
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(((await limited.json()) as { error: string }).error).toContain("too many requests")
    for (let i = 0; i < 10; i++) expect((await c.post(event(i), { authorization: "Bearer k-good" })).status).toBe(202)
    expect(await c.raw()).toBe(13)
    // Tokens come back at the configured rate: an emptied bucket of 1 token at 10/s serves again after 1.1 s.
    const refill = await start({ rateLimit: { perSecond: 10, burst: 1 } })
    expect((await refill.post(event(30), { origin: ORIGIN })).status).toBe(202)
    await Bun.sleep(1_100)
    expect((await refill.post(event(31), { origin: ORIGIN })).status).toBe(202)
  })

  test("with write keys, a server-side sender needs one: none or a wrong one is 401, a right one 202", async () => {
    const c = await start({ writeKeys: ["k-one-0123456789", "k-two-9876543210"] })
    const none = await c.post(event(1))
    expect(none.status).toBe(401)
    expect(((await none.json()) as { error: string }).error).toContain("Authorization: Bearer")
    const wrong = await c.post(event(1), { authorization: "Bearer k-one-0123456788" })
    expect(wrong.status).toBe(401)
    const wrongText = await wrong.text()
    expect(wrongText).not.toContain("k-one")
    expect((await c.post(event(1), { authorization: "Bearer k-one" })).status).toBe(401)
    expect((await c.post(event(1), { authorization: "Basic k-one-0123456789" })).status).toBe(401)
    expect(await c.raw()).toBe(0)
    expect((await c.post(event(1), { authorization: "Bearer k-two-9876543210" })).status).toBe(202)
    expect((await c.post(`${event(2)}\n${event(3)}`, { authorization: "bearer  k-one-0123456789 " })).status).toBe(202)
    // A browser page of an allowed origin sends no key.
    expect((await c.post(event(4), { origin: ORIGIN })).status).toBe(202)
    expect(await c.raw()).toBe(4)
    // Without keys configured, a sender that presents one is told so rather than silently trusted.
    const open = await start()
    expect((await open.post(event(1), { authorization: "Bearer anything" })).status).toBe(401)
    expect((await open.post(event(1))).status).toBe(202)
  })

  test("/metrics: loopback clients without a token; with METRICS_TOKEN only with it", async () => {
    const c = await start()
    expect((await fetch(`http://127.0.0.1:${c.server.port}/metrics`)).status).toBe(200)
    const t = await start({ metricsToken: "m-token", hostname: "0.0.0.0" })
    const metrics = (headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${t.server.port}/metrics`, { headers })
    expect((await metrics()).status).toBe(401)
    expect((await metrics({ authorization: "Bearer m-tokem" })).status).toBe(401)
    expect((await metrics({ authorization: "Bearer m-token" })).status).toBe(200)
    const o = await start({ hostname: "0.0.0.0" })
    const fromOutside = await fetch(`http://${outside}:${o.server.port}/metrics`)
    expect(fromOutside.status).toBe(403)
    expect(await fromOutside.text()).toContain("METRICS_TOKEN")
  })

  test("secrets compare in constant time over hashes (any lengths); the rate limiter forgets idle clients", () => {
    expect(secretEquals("abc", "abc")).toBe(true)
    expect(secretEquals("abc", "abd")).toBe(false)
    expect(secretEquals("", "a-much-longer-key")).toBe(false)
    expect(secretIn("k2", ["k1", "k2", "k3"])).toBe(true)
    expect(secretIn("k4", ["k1", "k2", "k3"])).toBe(false)
    let now = 0
    const limiter = new ClientRateLimiter({ perSecond: 10, burst: 2 }, () => now)
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 1])
    now += 100
    expect(limiter.take("a")).toBe(0)
    for (let i = 0; i < 50_001; i++) limiter.take(`c-${i}`)
    expect(limiter.clients).toBeLessThanOrEqual(50_001)
    now += 10_000
    limiter.take("fresh")
    for (let i = 0; i < 50_000; i++) limiter.take(`d-${i}`)
    expect(limiter.clients).toBeLessThanOrEqual(50_000)
  })
})
