/**
 * shop-pulse's browser tracker: the script a shop pastes into its pages.
 *
 *   <script src="https://collector.example/v1/tracker.js" defer></script>
 *
 * Contract v1 events from the page, batched to the collector that served this script. Dependency-free;
 * built with Bun.build (packages/tracker/src/trackerScript.ts) and served at GET /v1/tracker.js.
 *
 * Attributes of the script tag: data-collector (the collector's URL; default: this script's origin),
 * data-page-type and data-sku / data-category (the page_view sent on load; data-page-type="none" sends none),
 * data-consent="required" (nothing is sent or stored before shopPulse.consent(true)).
 *
 * API: shopPulse.page({page_type, sku, category}), shopPulse.track(eventType, fields),
 * shopPulse.identify(userId), shopPulse.consent(granted), shopPulse.flush(). Calls made before the script
 * loaded are queued by the stub `window.shopPulse = window.shopPulse || []` (`shopPulse.push(["track", ...])`),
 * run in order on load; a queued page() replaces the automatic page_view.
 */

type Fields = Record<string, unknown>
type Call = [string, ...Array<unknown>]

interface Stored {
  get(key: string): string | null
  set(key: string, value: string): void
  remove(key: string): void
}

const SESSION_IDLE_MS = 30 * 60 * 1000
const BATCH_DELAY_MS = 1000
const MAX_BATCH = 100
// Browsers refuse keepalive fetches and beacons over 64 KiB, counting all of a page's in flight together: a
// batch stays under half of it, so a page-hide beacon still fits beside a send in flight.
const MAX_BODY_BYTES = 30_000
// While the collector cannot be reached, at most this many events wait; the oldest go first.
const MAX_QUEUE = 1000
const utf8 = new TextEncoder()
const PREFIX = "shop_pulse_"

const script = document.currentScript as HTMLScriptElement | null
const attr = (name: string): string | null => script?.getAttribute(`data-${name}`) ?? null
const collector = (attr("collector") ?? (script?.src ? new URL(script.src).origin : location.origin)).replace(/\/$/, "")
const endpoint = `${collector}/v1/events`
const consentRequired = attr("consent") === "required"

/**
 * First-party storage: localStorage, else a first-party cookie (a year, SameSite=Lax) where localStorage is
 * blocked; nothing is written before consent.
 */
const storage = (): Stored => {
  const area = (): Storage | null => {
    try {
      return window.localStorage
    } catch {
      return null
    }
  }
  const ls = area()
  const cookie = (key: string, value: string, maxAge: number) => {
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser (Firefox, older Safari) and is async
    document.cookie = `${PREFIX}${key}=${encodeURIComponent(value)}; path=/; max-age=${maxAge}; SameSite=Lax`
  }
  const fromCookie = (key: string): string | null => {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(`${PREFIX}${key}=`))
    return hit === undefined ? null : decodeURIComponent(hit.slice(PREFIX.length + key.length + 1))
  }
  return {
    get: (key) => (ls !== null ? ls.getItem(PREFIX + key) : fromCookie(key)),
    set: (key, value) => {
      if (!allowed()) return
      if (ls !== null) ls.setItem(PREFIX + key, value)
      else cookie(key, value, 31_536_000)
    },
    remove: (key) => {
      if (ls !== null) ls.removeItem(PREFIX + key)
      else cookie(key, "", 0)
    },
  }
}
const local = storage()

let consented = !consentRequired || local.get("consent") === "yes"
function allowed(): boolean {
  return consented
}

/** A client-side UUID (v4): a retried send carries the same event_id, so it is one event. */
const uuid = (): string => {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID()
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const anonymousId = (): string => {
  let id = local.get("anonymous_id")
  if (id === null) {
    id = uuid()
    local.set("anonymous_id", id)
  }
  return id
}

const utm = (): Record<"utm_source" | "utm_medium" | "utm_campaign", string | null> => {
  const q = new URLSearchParams(location.search)
  return { utm_source: q.get("utm_source"), utm_medium: q.get("utm_medium"), utm_campaign: q.get("utm_campaign") }
}
const landing = utm()

/** The session: a new one after 30 minutes without an event, or when the page brings another UTM campaign. */
const sessionId = (now: number): string => {
  const id = local.get("session_id")
  const last = Number(local.get("session_last") ?? "0")
  const campaign = local.get("session_campaign") ?? ""
  const fresh =
    id === null || now - last > SESSION_IDLE_MS || (landing.utm_campaign !== null && landing.utm_campaign !== campaign)
  const current = fresh ? uuid() : id
  if (fresh) {
    local.set("session_campaign", landing.utm_campaign ?? "")
    interacted = false
  }
  local.set("session_id", current)
  local.set("session_last", String(now))
  if (interacted) local.set("interacted", current)
  return current
}

const device = (): "desktop" | "mobile" | "tablet" => {
  const ua = navigator.userAgent
  if (/iPad|Tablet|PlayBook|Silk|(Android(?!.*Mobile))/i.test(ua)) return "tablet"
  if (/Mobi|iPhone|iPod|Android|BlackBerry|Opera Mini|IEMobile/i.test(ua)) return "mobile"
  return "desktop"
}

// Pointer, touch, scroll or key activity in this session: bots that load pages without a human rarely have it.
let interacted = local.get("interacted") !== null && local.get("interacted") === local.get("session_id")
const markInteracted = () => {
  if (interacted) return
  interacted = true
  const id = local.get("session_id")
  if (id !== null) local.set("interacted", id)
}
for (const type of ["pointerdown", "pointermove", "touchstart", "keydown", "scroll"]) {
  addEventListener(type, markInteracted, { passive: true, once: true, capture: true })
}

let userId: string | null = local.get("user_id")
let queue: Array<Fields> = []
let timer: ReturnType<typeof setTimeout> | undefined
let retryMs = 0

// One fetch at a time: the 64 KiB keepalive quota is shared by all of a page's requests in flight.
let sending = false

/** The next batch off the queue, at most MAX_BATCH events and MAX_BODY_BYTES, as NDJSON. */
const nextBatch = (): { readonly batch: Array<Fields>; readonly body: string } => {
  const lines: Array<string> = []
  let bytes = 0
  while (lines.length < queue.length && lines.length < MAX_BATCH) {
    const line = JSON.stringify(queue[lines.length])
    const size = utf8.encode(line).length + 1
    if (lines.length > 0 && bytes + size > MAX_BODY_BYTES) break
    lines.push(line)
    bytes += size
  }
  return { batch: queue.splice(0, lines.length), body: lines.join("\n") }
}

// NDJSON as text/plain: a "simple" request, so no CORS preflight; the collector checks the page's Origin.
const post = (batch: Array<Fields>, body: string): void => {
  sending = true
  fetch(endpoint, { method: "POST", body, headers: { "content-type": "text/plain" }, keepalive: true })
    // The answer is read to its end: until then the request holds its share of the keepalive quota.
    .then((response) => response.text().then(() => response.status))
    .then((status) => {
      sending = false
      // 5xx and 429 are worth another try (the same event_ids, so a retried batch is counted once); a 4xx is not.
      if (status >= 500 || status === 429) return retry(batch)
      retryMs = 0
      if (queue.length > 0) flush(false)
    })
    .catch(() => {
      sending = false
      retry(batch)
    })
}

const retry = (batch: Array<Fields>): void => {
  retryMs = Math.min(retryMs === 0 ? 1000 : retryMs * 2, 30_000)
  queue = batch.concat(queue).slice(-MAX_QUEUE)
  schedule(retryMs)
}

/** Sends what waits: one batch by fetch (the next when it is answered), or all of it by beacon on page hide. */
const flush = (beacon = false): void => {
  clearTimeout(timer)
  timer = undefined
  if (!allowed()) return
  if (!beacon) {
    if (!sending && queue.length > 0) {
      const { batch, body } = nextBatch()
      post(batch, body)
    }
    return
  }
  while (queue.length > 0) {
    const { batch, body } = nextBatch()
    const queued =
      typeof navigator.sendBeacon === "function" &&
      navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))
    if (!queued) post(batch, body)
  }
}

const schedule = (ms: number): void => {
  if (timer === undefined) timer = setTimeout(() => flush(false), ms)
}

const track = (eventType: string, fields: Fields = {}): void => {
  if (!allowed()) return
  const now = Date.now()
  if (queue.length >= MAX_QUEUE) queue.shift()
  queue.push({
    ...fields,
    schema_version: 1,
    event_id: uuid(),
    event_type: eventType,
    event_ts: new Date(now).toISOString(),
    anonymous_id: anonymousId(),
    user_id: userId,
    session_id: sessionId(now),
    // No country: the collector fills it (from its proxy's header or an offline database), keeping no IP.
    context: {
      device: device(),
      user_agent: navigator.userAgent,
      referrer: document.referrer === "" ? null : document.referrer,
      ...landing,
      interacted,
    },
  })
  if (queue.length >= MAX_BATCH) flush(false)
  else schedule(BATCH_DELAY_MS)
}

const page = (fields: Fields = {}): void => {
  const pageType = (fields.page_type as string | undefined) ?? attr("page-type") ?? "other"
  const sku = (fields.sku as string | undefined) ?? attr("sku")
  track("page_view", {
    page_type: pageType,
    page_url: location.href,
    sku: sku ?? null,
    category: (fields.category as string | undefined) ?? attr("category"),
  })
}

const identify = (id: string | null): void => {
  userId = id
  if (id === null) local.remove("user_id")
  else local.set("user_id", id)
}

const consent = (granted: boolean): void => {
  consented = granted
  if (granted) {
    local.set("consent", "yes")
    return
  }
  // Withdrawn: forget what was stored and what waits to be sent.
  queue = []
  for (const key of [
    "consent",
    "anonymous_id",
    "user_id",
    "session_id",
    "session_last",
    "session_campaign",
    "interacted",
  ]) {
    local.remove(key)
  }
}

const methods: Record<string, (...args: Array<never>) => void> = {
  page,
  track,
  identify,
  consent,
  flush: () => flush(false),
}
/** One call of the pre-load stub, e.g. ["track", "add_to_cart", {...}]; `push` keeps working after load. */
const run = (call: Call): void => {
  const [method, ...args] = call
  ;(methods[method] as ((...a: Array<unknown>) => void) | undefined)?.(...args)
}
const w = window as unknown as { shopPulse?: unknown }
const queued: Array<Call> = Array.isArray(w.shopPulse) ? (w.shopPulse as Array<Call>) : []
w.shopPulse = { ...methods, push: run }
// The page's own queued page() replaces the automatic page_view.
const pageQueued = queued.some(([method]) => method === "page")
if (attr("page-type") !== "none" && !pageQueued) page()
for (const call of queued) run(call)

// A page that is hidden may never come back: what waits goes now, by beacon.
addEventListener("pagehide", () => flush(true))
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") flush(true)
})
