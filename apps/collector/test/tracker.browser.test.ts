import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { layerEmbeddedAt } from "@shop/broker"
import { Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { Effect, Layer, ManagedRuntime } from "effect"
import { type Browser, chromium } from "playwright-core"
import { CollectorServer } from "../src/index.ts"
import { readRawEvents } from "./readRaw.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/**
 * The tracker in a real browser: a shop's pages (served here) paste the snippet; headless Chromium browses
 * product -> cart -> checkout, identifies, and the collector puts what it sends on events.raw; the real
 * stream processor then puts it in Silver, where the spec reads it with DuckDB. A proxy in front of the
 * collector answers one send with 503 after the collector took it, so the tracker's retry delivers the same
 * events twice: Silver must hold them once. Chromium is a system package (Debian: apt-get install chromium):
 * without it the spec is skipped on a developer machine and fails in CI (CI=true).
 */
declare const window: {
  shopPulse: {
    track(eventType: string, fields?: Record<string, unknown>): void
    page(fields?: Record<string, unknown>): void
    identify(userId: string | null): void
    consent(granted: boolean): void
    flush(): void
  }
  localStorage: { length: number; key(i: number): string | null }
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const haveChromium = existsSync(CHROMIUM)
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"

const dir = mkdtempSync(join(tmpdir(), "tracker-browser-"))

/** The shop's own site: a few pages with the snippet, the tracker taken from the proxy's origin. */
let proxyOrigin = ""
const page = (title: string, attrs: string, head = "") => `<!doctype html><html><head><title>${title}</title>${head}
<script>window.shopPulse = window.shopPulse || [];</script>
<script src="${proxyOrigin}/v1/tracker.js" ${attrs} defer></script></head>
<body><h1>${title}</h1><button id="buy">Add to cart</button><a id="next" href="/cart.html">Cart</a></body></html>`
const shop = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (request) => {
    const path = new URL(request.url).pathname
    const html = (body: string) => new Response(body, { headers: { "content-type": "text/html" } })
    if (path === "/product.html") {
      // A call queued before the tracker loaded: it runs once the script is there.
      return html(
        page(
          "Boots",
          'data-page-type="product" data-sku="SKU-BOOTS" data-category="shoes"',
          `<script>window.shopPulse = window.shopPulse || []; window.shopPulse.push(["track", "search", { query: "boots", results_count: 3 }]);</script>`,
        ),
      )
    }
    if (path === "/readme.html") {
      // The README's copy-paste example page, pointed at this collector.
      const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
      const example = readme.match(/A complete product page[^\n]*\n\n```html\n([\s\S]*?)```/)?.[1]
      if (example === undefined) return new Response("no example page in the README", { status: 500 })
      return html(example.replaceAll("https://collector.example", proxyOrigin))
    }
    if (path === "/checkout") return html("<!doctype html><title>Checkout</title>")
    if (path === "/cart.html") return html(page("Cart", 'data-page-type="cart"'))
    if (path === "/checkout.html") return html(page("Checkout", 'data-page-type="checkout"'))
    if (path === "/consent.html") return html(page("Consent", 'data-page-type="home" data-consent="required"'))
    return new Response("not found", { status: 404 })
  },
})
const shopOrigin = `http://127.0.0.1:${shop.port}`

const brokerLayer = layerEmbeddedAt(join(dir, "broker"))
const runtime = ManagedRuntime.make(
  Layer.mergeAll(
    brokerLayer,
    Lake.layerAt(dir),
    CollectorServer.layer({ port: 0, allowedOrigins: [shopOrigin], country: { header: "CF-IPCountry" } }).pipe(
      Layer.provide(brokerLayer),
    ),
  ),
)

/**
 * In front of the collector, as a shop's CDN would be: forwards everything with the client's country in
 * CF-IPCountry, logs the POSTs, and can answer one POST 503 after the collector took it.
 */
const posts: Array<{ readonly body: string; readonly status: number }> = []
let fail503AfterForwarding = 0
let collectorUrl = ""
const proxy = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: async (request) => {
    const url = new URL(request.url)
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text()
    const headers = new Headers(request.headers)
    headers.delete("host")
    // What Cloudflare in front of a collector does: the client's country in a header.
    headers.set("cf-ipcountry", "nl")
    // As Cloudflare does: the proxy tells the collector the client's country.
    headers.set("CF-IPCountry", "NL")
    const forwarded = await fetch(`${collectorUrl}${url.pathname}`, {
      method: request.method,
      headers,
      body: body ?? null,
    })
    const answer = new Response(await forwarded.arrayBuffer(), { status: forwarded.status, headers: forwarded.headers })
    if (request.method !== "POST") return answer
    if (fail503AfterForwarding > 0 && forwarded.status === 202) {
      fail503AfterForwarding--
      posts.push({ body: body!, status: 503 })
      return new Response("try again", { status: 503, headers: { "access-control-allow-origin": shopOrigin } })
    }
    posts.push({ body: body!, status: answer.status })
    return answer
  },
})
proxyOrigin = `http://127.0.0.1:${proxy.port}`

let browser: Browser | undefined
beforeAll(async () => {
  collectorUrl = await runtime.runPromise(
    Effect.gen(function* () {
      return (yield* CollectorServer).url
    }),
  )
  if (haveChromium) browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--disable-dev-shm-usage"] })
})
afterAll(async () => {
  await browser?.close()
  shop.stop(true)
  proxy.stop(true)
  await runtime.dispose()
  rmSync(dir, { recursive: true, force: true })
})

/** Records on events.raw so far (every delivery, copies included), parsed. */
const raw = () => runtime.runPromise(readRawEvents)

const waitFor = async (what: string, check: () => Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await Bun.sleep(100)
  }
  throw new Error(`timed out waiting for ${what}; POST statuses so far: ${posts.map((p) => p.status).join(", ")}`)
}
/**
 * The events the proxy saw whose page_url carries `t=<marker>`, once per event_id, in the order sent: a later
 * test's figures are not mixed with the page-hide beacons of an earlier test's closed tabs, and a send cut
 * short by the next navigation and sent again on page hide is still one event.
 */
const sentWithMarker = (marker: string) => {
  const events = posts.flatMap((p) => p.body.split("\n").map((l) => JSON.parse(l) as Record<string, unknown>))
  const mine = events.filter((e) => String(e.page_url ?? "").includes(`t=${marker}`))
  return [...new Map(mine.map((e) => [e.event_id, e])).values()]
}

const typesOnRaw = async () => (await raw()).map((e) => e.event_type as string)

const requireChromium = () => {
  if (!haveChromium) throw new Error(`Chromium is required in CI for the tracker browser spec: none at ${CHROMIUM}`)
  return browser!
}

/** A fresh browser profile and tab; `errors` collects the page's uncaught errors (the tracker must throw none). */
const openTab = async () => {
  const context = await requireChromium().newContext()
  const tab = await context.newPage()
  const errors: Array<string> = []
  tab.on("pageerror", (e) => errors.push(e.message))
  return { context, tab, errors }
}

describe.skipIf(!haveChromium && !inCi)("the browser tracker in Chromium", () => {
  test("a visit: product, cart, checkout, identify -> events.raw; a hidden page flushes; a 503'd send is retried", async () => {
    const { context, tab, errors } = await openTab()

    await tab.goto(`${shopOrigin}/product.html?utm_source=newsletter&utm_medium=email&utm_campaign=weekly`)
    await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
    await tab.mouse.move(20, 20)
    await tab.click("#buy")
    await tab.evaluate(() =>
      window.shopPulse.track("add_to_cart", { sku: "SKU-BOOTS", quantity: 1, unit_price: 89.9, currency: "USD" }),
    )
    // Leave at once: the add_to_cart waits in the queue (1 s batching); the page hide must send it.
    await tab.click("#next")
    await tab.waitForURL(`${shopOrigin}/cart.html`)
    await waitFor("the product page's events (page_view, search, add_to_cart)", async () => {
      const types = await typesOnRaw()
      return ["page_view", "search", "add_to_cart"].every((t) => types.includes(t))
    })

    await tab.goto(`${shopOrigin}/checkout.html`)
    await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
    // The next send lands on the collector but the browser is told 503: the tracker sends the same events again.
    fail503AfterForwarding = 1
    await tab.evaluate(() => {
      window.shopPulse.track("checkout_started", { cart_value: 89.9, item_count: 1, currency: "USD" })
      window.shopPulse.flush()
    })
    await waitFor(
      "the retry after the 503",
      async () => posts.some((p) => p.status === 503) && posts.at(-1)!.status === 202,
    )
    await tab.evaluate(() => {
      window.shopPulse.identify("user-42")
      window.shopPulse.page({ page_type: "confirmation" })
      window.shopPulse.flush()
    })
    await waitFor("the confirmation page_view", async () =>
      (await raw()).some((e) => e.event_type === "page_view" && e.page_type === "confirmation"),
    )
    await context.close()
    expect(errors).toEqual([])

    const onRaw = await raw()
    const copies = onRaw.filter((e) => e.event_type === "checkout_started")
    expect(copies.length).toBe(2) // the retried send: the same event twice on events.raw
    expect(new Set(copies.map((e) => e.event_id)).size).toBe(1)

    // Into Silver with the real stream processor.
    await runtime.runPromise(runStreamProcessor({ availableNow: true }))
    const instance = await DuckDBInstance.create(":memory:")
    const db = await instance.connect()
    const rows = async (table: string) =>
      (
        await db.runAndReadAll(
          `select * from read_parquet('${join(dir, "silver", table)}/*/*.parquet', hive_partitioning = true) order by event_ts`,
        )
      ).getRowObjectsJson() as Array<Record<string, string | number | null>>
    const views = await rows("page_view")
    const searches = await rows("search")
    const carts = await rows("add_to_cart")
    const checkouts = await rows("checkout_started")
    db.closeSync()
    expect(views.map((v) => v.page_type)).toEqual(["product", "cart", "checkout", "confirmation"])
    expect(views[0]!.sku).toBe("SKU-BOOTS")
    expect(views[0]!.category).toBe("shoes")
    expect(searches.map((s) => s.query)).toEqual(["boots"])
    expect(carts.map((c) => [c.sku, c.unit_price])).toEqual([["SKU-BOOTS", "89.90"]])
    expect(checkouts.length).toBe(1) // the retried copy is one event in Silver

    const all = [...views, ...searches, ...carts, ...checkouts]
    // One visitor, one session, on a desktop in NL (the proxy's header), Chromium's user agent.
    expect(new Set(all.map((e) => e.anonymous_id)).size).toBe(1)
    expect(new Set(all.map((e) => e.session_id)).size).toBe(1)
    for (const e of all) {
      expect(e.device).toBe("desktop")
      expect(e.country).toBe("NL")
      expect(String(e.user_agent)).toContain("Chrome")
    }
    expect(views[0]!.utm_source).toBe("newsletter")
    expect(views[0]!.utm_medium).toBe("email")
    expect(views[0]!.utm_campaign).toBe("weekly")
    expect(views[1]!.referrer).toBe(
      `${shopOrigin}/product.html?utm_source=newsletter&utm_medium=email&utm_campaign=weekly`,
    )
    // identify: the events after it carry the user, the ones before do not.
    expect(views.map((v) => v.user_id)).toEqual([null, null, null, "user-42"])
    // Browser events are not keyed; the pointer activity on the product page is reported from then on.
    expect(onRaw.every((e) => (e.ingest as { keyed: boolean }).keyed === false)).toBe(true)
    const interacted = (e: Record<string, unknown>) => (e.context as { interacted?: boolean }).interacted
    expect(interacted(onRaw.find((e) => e.event_type === "add_to_cart")!)).toBe(true)
    expect(interacted(onRaw.find((e) => e.page_type === "confirmation")!)).toBe(true)
  })

  test("the README's example page: add to cart, log in, checkout (the link leaves the page)", async () => {
    const { context, tab, errors } = await openTab()
    await tab.goto(`${shopOrigin}/readme.html`)
    await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
    await tab.click("#add")
    await tab.click("#login")
    await tab.click("#checkout")
    await tab.waitForURL(`${shopOrigin}/checkout`)
    // This visitor's events: the one of the page_view of the example page.
    const ofThisVisit = async () => {
      const events = await raw()
      const visitor = events.find((e) => e.page_url === `${shopOrigin}/readme.html`)?.anonymous_id
      return events.filter((e) => visitor !== undefined && e.anonymous_id === visitor)
    }
    await waitFor("the example page's events", async () => (await ofThisVisit()).length >= 3)
    await context.close()
    expect(errors).toEqual([])
    const byType = new Map((await ofThisVisit()).map((e) => [e.event_type as string, e]))
    expect([...byType.keys()].sort()).toEqual(["add_to_cart", "checkout_started", "page_view"])
    expect(byType.get("page_view")!.page_type).toBe("product")
    expect(byType.get("page_view")!.sku).toBe("SKU-BOOTS")
    expect(byType.get("add_to_cart")!.user_id).toBeNull()
    expect(byType.get("checkout_started")!.user_id).toBe("customer-42")
  })

  test("sessions: one across pages; a new one for another utm_campaign and after 30 idle minutes", async () => {
    const { context, tab } = await openTab()
    const visit = async (path: string) => {
      await tab.goto(`${shopOrigin}${path}`)
      await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
      await tab.evaluate(() => window.shopPulse.flush())
    }
    await visit("/cart.html?utm_campaign=spring&t=sessions")
    await visit("/checkout.html?utm_campaign=spring&t=sessions") // the same campaign: the same session
    await visit("/cart.html?t=sessions") // no campaign in the URL: the same session
    await visit("/cart.html?utm_campaign=summer&t=sessions") // another campaign: a new session
    // 31 minutes without an event: the next page starts a new session.
    await tab.evaluate(() => {
      const ls = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage
      ls.setItem("shop_pulse_session_last", String(Date.now() - 31 * 60 * 1000))
    })
    await visit("/checkout.html?t=sessions")
    await waitFor("five page views", async () => sentWithMarker("sessions").length >= 5)
    await context.close()
    const views = sentWithMarker("sessions")
    expect(views.length).toBe(5)
    const [a, b2, c, d, e] = views.map((v) => v.session_id)
    expect([b2, c]).toEqual([a, a])
    expect(d).not.toBe(a)
    expect(e).not.toBe(d)
    expect(new Set(views.map((v) => v.anonymous_id)).size).toBe(1)
  })

  test("where localStorage is blocked, a first-party cookie keeps the visitor and the session across pages", async () => {
    const { context, tab } = await openTab()
    // As a browser that blocks site storage: reading localStorage throws (from the first navigation on).
    await context.addInitScript(() => {
      Object.defineProperty(globalThis, "localStorage", {
        get: () => {
          throw new Error("storage blocked")
        },
      })
    })
    for (const path of ["/cart.html?t=blocked", "/checkout.html?t=blocked"]) {
      await tab.goto(`${shopOrigin}${path}`)
      await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
      await tab.evaluate(() => window.shopPulse.flush())
    }
    await waitFor("both page views", async () => sentWithMarker("blocked").length >= 2)
    const views = sentWithMarker("blocked")
    expect(views.map((v) => v.page_type)).toEqual(["cart", "checkout"])
    expect(views[1]!.anonymous_id).toBe(views[0]!.anonymous_id)
    expect(views[1]!.session_id).toBe(views[0]!.session_id)
    const cookies = (await context.cookies(shopOrigin)).map((c) => c.name)
    expect(cookies).toContain("shop_pulse_anonymous_id")
    await context.close()
  })

  test("a burst of large events goes in sends under the browsers' 64 KiB keepalive limit, every event once", async () => {
    const { context, tab, errors } = await openTab()
    await tab.goto(`${shopOrigin}/cart.html`)
    await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
    const sent = posts.length
    await tab.evaluate(() => {
      // 120 searches of ~2 KB each (a long query): about 250 KB in all.
      for (let i = 0; i < 120; i++) {
        window.shopPulse.track("search", {
          query: `burst-${i} ${"x".repeat(180)}`,
          results_count: i,
          note: "n".repeat(1800),
        })
      }
      window.shopPulse.flush()
    })
    const burst = () =>
      posts
        .slice(sent)
        .flatMap((p) => p.body.split("\n").map((l) => JSON.parse(l) as Record<string, unknown>))
        .filter((e) => String(e.query ?? "").startsWith("burst-"))
    await waitFor("the 120 searches", async () => new Set(burst().map((e) => e.event_id)).size === 120)
    await context.close()
    expect(errors).toEqual([])
    const sizes = posts.slice(sent).map((p) => Buffer.byteLength(p.body))
    expect(sizes.length).toBeGreaterThan(3)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024)
    expect(posts.slice(sent).every((p) => p.status === 202)).toBe(true)
  })

  test("consent mode: nothing is sent or stored before consent(true); after it, events flow", async () => {
    const { context, tab } = await openTab()
    await tab.goto(`${shopOrigin}/consent.html`)
    await tab.waitForFunction(() => typeof window.shopPulse?.track === "function")
    await tab.evaluate(() => {
      window.shopPulse.track("search", { query: "before consent", results_count: 0 })
      window.shopPulse.flush()
    })
    await Bun.sleep(1_500) // longer than the tracker's batching delay
    // Nothing from this page (its page_view, the search) reached the collector; other tests' late beacons may.
    expect(posts.filter((p) => p.body.includes("/consent.html") || p.body.includes("before consent"))).toEqual([])
    const stored = await tab.evaluate(() => {
      const keys: Array<string> = []
      for (let i = 0; i < window.localStorage.length; i++) keys.push(window.localStorage.key(i) ?? "")
      return keys
    })
    expect(stored).toEqual([])
    expect(await context.cookies(shopOrigin)).toEqual([])

    await tab.evaluate(() => {
      window.shopPulse.consent(true)
      window.shopPulse.track("search", { query: "after consent", results_count: 1 })
      window.shopPulse.flush()
    })
    await waitFor("the search sent after consent", async () => (await raw()).some((e) => e.query === "after consent"))
    expect((await raw()).some((e) => e.query === "before consent")).toBe(false)
    await context.close()
  })
})
