/**
 * A bounded abuse run against the HTTP collector on loopback (127.0.0.1 only, never another host):
 *
 *   bun scripts/chaos/collector-abuse.ts [--seconds 60] [--requests 10000] [--slow 200] [--concurrency 16]
 *
 * It starts `bun run collector` on a free port over a temporary DATA_DIR (embedded broker, one write key), then,
 * at once: 200 slow connections for 60 s (bodies dribbled a byte at a time, headers that never end) and 10,000
 * requests in a bounded loop: good batches with the write key, browser batches of the allowed origin (rate
 * limited), foreign origins, no key, a wrong key, oversized bodies (declared and chunked), too many events,
 * malformed JSON, invalid UTF-8, a wrong content type. Every answer must be the expected status within the time
 * bound, the collector must answer /health throughout and keep its RSS bounded; after it stops, events.raw is
 * read back with `bun run consume -- --topic events.raw --from-beginning --until-end` and must hold every
 * accepted event exactly once and nothing else. Prints its figures; exits 1 on any failure.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    requests: { type: "string", default: "10000" },
    slow: { type: "string", default: "200" },
    concurrency: { type: "string", default: "16" },
    "max-rss-mb": { type: "string", default: "400" },
    "p99-ms": { type: "string", default: "1000" },
    keep: { type: "boolean", default: false },
  },
})
const SECONDS = Number(flags.seconds)
const REQUESTS = Number(flags.requests)
const SLOW = Number(flags.slow)
const CONCURRENCY = Number(flags.concurrency)
const MAX_RSS_MB = Number(flags["max-rss-mb"])
const P99_MS = Number(flags["p99-ms"])
const REQUEST_TIMEOUT_MS = 15_000
const HOST = "127.0.0.1" // the only address this script ever talks to
const ROOT = resolve(import.meta.dir, "../..")
const ORIGIN = "https://shop.example"
const KEY = randomBytes(24).toString("hex")
// One character off: a wrong key that shares all but its last character with the right one.
const WRONG_KEY = `${KEY.slice(0, -1)}${KEY.endsWith("0") ? "1" : "0"}`

const failures: Array<string> = []
const fail = (what: string) => {
  if (failures.length < 50) failures.push(what)
}
const dataDir = mkdtempSync(join(tmpdir(), "collector-abuse-"))
const log = (line: string) => process.stderr.write(`[abuse] ${line}\n`)

// --- the collector under test -------------------------------------------------------------------------------
const collector = Bun.spawn(["bun", join(ROOT, "apps/collector/src/main.ts"), "--host", HOST, "--port", "0"], {
  cwd: ROOT,
  env: {
    ...process.env,
    DATA_DIR: dataDir,
    KAFKA_BROKERS: "",
    COLLECTOR_HOST: "",
    COLLECTOR_WRITE_KEYS: KEY,
    COLLECTOR_ALLOWED_ORIGINS: ORIGIN,
    COLLECTOR_RATE_LIMIT: "",
    METRICS_TOKEN: "",
    SHOP_ENV: "",
  },
  stdout: "ignore",
  stderr: "pipe",
})
let collectorLog = ""
const port = await (async () => {
  const reader = collector.stderr.getReader()
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(collectorLog)
    if (m !== null) {
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) return
          collectorLog += new TextDecoder().decode(value)
        }
      })()
      return Number(m[1])
    }
    const { value, done } = await reader.read()
    if (done) break
    collectorLog += new TextDecoder().decode(value)
  }
  throw new Error(`the collector did not start (exit ${collector.exitCode}):\n${collectorLog}`)
})()
if (collectorLog.includes(KEY)) fail("the collector printed its write key")
const base = `http://${HOST}:${port}`
log(`collector pid ${collector.pid} on ${base}, DATA_DIR ${dataDir}`)

const kib = (field: string) => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${collector.pid}/status`, "utf8"))
    return m === null ? 0 : Number(m[1])
  } catch {
    return 0
  }
}
await Bun.sleep(1_000)
const rssBefore = kib("VmRSS")
let rssPeak = rssBefore
const rssSampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, kib("VmRSS"))
}, 250)

// --- /health throughout --------------------------------------------------------------------------------------
// Probed from a process of its own, as compose's healthcheck does: probed from this script, whose event loop is
// busy with the abuse, the figure was this script's own delays (a 2.7 s "latency" on a loaded CI machine).
// Each probe must get 200 within compose's healthcheck timeout (5 s); the latencies are reported.
const HEALTH_TIMEOUT_MS = 5_000
const healthLatencies: Array<number> = []
let healthFailures = 0
const healthProbe = Bun.spawn(
  [
    process.execPath,
    "-e",
    `const stop = Date.now() + Number(process.argv[1]); while (Date.now() < stop) {
       const t = performance.now(); let ok = false
       try { const r = await fetch(process.argv[2], { signal: AbortSignal.timeout(${HEALTH_TIMEOUT_MS}) }); await r.arrayBuffer(); ok = r.status === 200 } catch {}
       console.log(JSON.stringify({ ok, ms: performance.now() - t })); await Bun.sleep(500) }`,
    String(SECONDS * 1000),
    `${base}/health`,
  ],
  { stdout: "pipe", stderr: "inherit" },
)
const healthLoop = (async () => {
  const out = await new Response(healthProbe.stdout).text()
  for (const line of out.split("\n")) {
    if (line === "") continue
    const probe = JSON.parse(line) as { ok: boolean; ms: number }
    if (!probe.ok) healthFailures++
    healthLatencies.push(probe.ms)
  }
})()

// --- slow connections ----------------------------------------------------------------------------------------
// SLOW slots, each kept busy for SECONDS: a connection that dribbles (a body byte, or one more header line, every
// second) until the server closes it, then the next one. Half the slots send bodies, half endless headers.
interface SlowResult {
  kind: string
  status: number | null
  closedByServer: boolean
}
const slowDeadline = performance.now() + SECONDS * 1_000
const slowConnection = (kind: string): Promise<SlowResult> =>
  new Promise((done) => {
    let status: number | null = null
    let timer: ReturnType<typeof setInterval> | undefined
    let finished = false
    const finish = (closedByServer: boolean) => {
      if (finished) return
      finished = true
      clearInterval(timer)
      done({ kind, status, closedByServer })
    }
    Bun.connect({
      hostname: HOST,
      port,
      socket: {
        open(socket) {
          if (kind === "slow body") {
            socket.write(
              `POST /v1/events HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/x-ndjson\r\n` +
                `Authorization: Bearer ${KEY}\r\nContent-Length: 100000\r\n\r\n`,
            )
            timer = setInterval(() => socket.write("{"), 1_000)
          } else {
            socket.write(`POST /v1/events HTTP/1.1\r\nHost: ${HOST}\r\n`)
            let n = 0
            timer = setInterval(() => socket.write(`X-Slow-${n++}: a\r\n`), 1_000)
          }
          setTimeout(
            () => {
              clearInterval(timer)
              socket.end()
              finish(false)
            },
            Math.max(0, slowDeadline - performance.now()),
          )
        },
        data(_socket, data) {
          const m = /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(data))
          if (m !== null && status === null) status = Number(m[1])
        },
        close() {
          finish(performance.now() < slowDeadline - 50)
        },
        error() {
          finish(performance.now() < slowDeadline - 50)
        },
      },
    }).catch(() => finish(false))
  })
const slowRun = Promise.all(
  Array.from({ length: SLOW }, async (_, i) => {
    const kind = i % 2 === 0 ? "slow body" : "endless headers"
    const results: Array<SlowResult> = []
    while (performance.now() < slowDeadline - 100) {
      const r = await slowConnection(kind)
      results.push(r)
      if (!r.closedByServer) break
    }
    return results
  }),
).then((slots) => slots.flat())

// --- the bounded request loop --------------------------------------------------------------------------------
type Kind =
  | "keyed batch"
  | "browser batch"
  | "foreign origin"
  | "no key"
  | "wrong key"
  | "oversized"
  | "chunked oversized"
  | "too many events"
  | "1 MiB of 1\\n"
  | "malformed JSON"
  | "invalid UTF-8"
  | "wrong content type"
// Weights out of 100, and the answers allowed (the first must be seen). Requests without a valid key share their
// client's rate limit (all of them come from 127.0.0.1), so past the burst they may be 429 before anything else.
const MIX: Array<[Kind, number, Array<number>]> = [
  ["keyed batch", 40, [202]],
  ["browser batch", 15, [202, 429]],
  ["foreign origin", 10, [403, 429]],
  ["no key", 8, [401, 429]],
  ["wrong key", 7, [401, 429]],
  ["oversized", 2, [413]],
  ["chunked oversized", 2, [413]],
  ["too many events", 4, [413]],
  ["1 MiB of 1\\n", 2, [413]],
  ["malformed JSON", 4, [400]],
  ["invalid UTF-8", 3, [400]],
  ["wrong content type", 3, [415]],
]
const kindOf = (i: number): [Kind, Array<number>] => {
  let r = (i * 37) % 100
  for (const [kind, weight, statuses] of MIX) {
    if (r < weight) return [kind, statuses]
    r -= weight
  }
  return ["keyed batch", [202]]
}
const event = (id: string, i: number) =>
  JSON.stringify({ event_id: id, event_type: "page_view", session_id: `s-${i % 97}`, pad: "x".repeat(i % 200) })
const bigOne = "x".repeat(1_500_000)
const manyOnes = "1\n".repeat(512 * 1024)

const accepted = new Set<string>()
const refusedIds = new Set<string>()
const latencies: Array<number> = []
const statusCounts = new Map<string, number>()
let timeouts = 0

/** A chunked upload of unknown length, 2 MiB, over a raw socket: the server must stop it at 1 MiB. */
const chunkedOversized = (): Promise<number> =>
  new Promise((done) => {
    let status = 0
    Bun.connect({
      hostname: HOST,
      port,
      socket: {
        open(socket) {
          socket.write(
            `POST /v1/events HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/x-ndjson\r\n` +
              `Authorization: Bearer ${KEY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
          )
          const chunk = `${(64 * 1024).toString(16)}\r\n${"y".repeat(64 * 1024)}\r\n`
          for (let i = 0; i < 32; i++) socket.write(chunk)
          socket.write("0\r\n\r\n")
        },
        data(socket, data) {
          const m = /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(data))
          if (m !== null && status === 0) {
            status = Number(m[1])
            socket.end()
          }
        },
        close() {
          done(status)
        },
        error() {
          done(status)
        },
      },
    }).catch(() => done(status))
    setTimeout(() => done(status), REQUEST_TIMEOUT_MS)
  })

const one = async (i: number) => {
  const [kind, expected] = kindOf(i)
  const ids = Array.from({ length: 1 + (i % 20) }, (_, j) => `abuse-${i}-${j}`)
  const lines = ids.map((id, j) => event(id, i + j)).join("\n")
  const keyed = { authorization: `Bearer ${KEY}` }
  let init: RequestInit
  switch (kind) {
    case "keyed batch":
      init = { headers: { ...keyed, "content-type": "application/x-ndjson" }, body: lines }
      break
    case "browser batch":
      init = { headers: { origin: ORIGIN, "content-type": "text/plain" }, body: lines }
      break
    case "foreign origin":
      init = { headers: { origin: "https://evil.example", "content-type": "text/plain" }, body: lines }
      break
    case "no key":
      init = { headers: { "content-type": "application/x-ndjson" }, body: lines }
      break
    case "wrong key":
      init = { headers: { authorization: `Bearer ${WRONG_KEY}`, "content-type": "text/plain" }, body: lines }
      break
    case "oversized":
      init = { headers: { ...keyed, "content-type": "application/x-ndjson" }, body: `${lines}\n${bigOne}` }
      break
    case "too many events":
      init = {
        headers: { ...keyed, "content-type": "application/json" },
        body: `[${Array.from({ length: 501 }, (_, j) => event(`abuse-${i}-x${j}`, j)).join(",")}]`,
      }
      for (let j = 0; j < 501; j++) refusedIds.add(`abuse-${i}-x${j}`)
      break
    case "1 MiB of 1\\n":
      init = { headers: { ...keyed, "content-type": "text/plain" }, body: manyOnes.slice(0, 1024 * 1024 - 2) }
      break
    case "malformed JSON":
      init = { headers: { ...keyed, "content-type": "application/json" }, body: `[${lines.replaceAll("\n", ",")}` }
      break
    case "invalid UTF-8":
      init = {
        headers: { ...keyed, "content-type": "application/x-ndjson" },
        body: new Uint8Array([...new TextEncoder().encode(lines), 0xff, 0xfe, 0x0a]),
      }
      break
    case "wrong content type":
      init = { headers: { ...keyed, "content-type": "multipart/form-data" }, body: lines }
      break
    case "chunked oversized":
      break
  }
  const t = performance.now()
  let status: number
  try {
    if (kind === "chunked oversized") status = await chunkedOversized()
    else {
      const r = await fetch(`${base}/v1/events`, {
        method: "POST",
        ...init!,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
      status = r.status
      if (status === 202) {
        const n = ((await r.json()) as { accepted: number }).accepted
        if (n !== ids.length) fail(`request ${i} (${kind}): accepted ${n}, sent ${ids.length}`)
      } else await r.arrayBuffer()
    }
  } catch (e) {
    status = 0
    if (e instanceof Error && e.name === "TimeoutError") timeouts++
  }
  latencies.push(performance.now() - t)
  const label = `${kind} ${status}`
  statusCounts.set(label, (statusCounts.get(label) ?? 0) + 1)
  if (!expected.includes(status)) fail(`request ${i} (${kind}): got ${status}, expected ${expected.join(" or ")}`)
  for (const id of ids) (status === 202 ? accepted : refusedIds).add(id)
}

const runStarted = performance.now()
const loopStarted = performance.now()
let next = 0
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) await one(next++)
  }),
)
const loopSeconds = (performance.now() - loopStarted) / 1000
log(`${REQUESTS} requests in ${loopSeconds.toFixed(1)} s; waiting for the slow connections (${SECONDS} s)`)
const slow = await slowRun
const runSeconds = (performance.now() - runStarted) / 1000
await healthLoop
clearInterval(rssSampler)
const hwm = kib("VmHWM")
rssPeak = Math.max(rssPeak, kib("VmRSS"))
const stillUp = collector.exitCode === null

// --- stop it, then read events.raw back with the project's own consumer ------------------------------------------
collector.kill("SIGINT")
const exitCode = await collector.exited
const consume = Bun.spawn(["bun", "run", "consume", "--", "--topic", "events.raw", "--from-beginning", "--until-end"], {
  cwd: ROOT,
  env: { ...process.env, DATA_DIR: dataDir, KAFKA_BROKERS: "" },
  stdout: "pipe",
  stderr: "pipe",
})
const [consumed, consumeErr, consumeCode] = await Promise.all([
  new Response(consume.stdout).text(),
  new Response(consume.stderr).text(),
  consume.exited,
])
if (consumeCode !== 0) fail(`bun run consume exited ${consumeCode}: ${consumeErr.trim().split("\n").at(-1)}`)
const seen = new Map<string, number>()
let unparsable = 0
for (const line of consumed.split("\n")) {
  if (line === "") continue
  try {
    const id = (JSON.parse((JSON.parse(line) as { value: string }).value) as { event_id?: string }).event_id ?? ""
    seen.set(id, (seen.get(id) ?? 0) + 1)
  } catch {
    unparsable++
  }
}
const onTopic = [...seen.values()].reduce((a, b) => a + b, 0) + unparsable
const missing = [...accepted].filter((id) => !seen.has(id)).length
const duplicated = [...seen.values()].filter((n) => n > 1).length
const landedRefused = [...refusedIds].filter((id) => seen.has(id)).length
const strangers = [...seen.keys()].filter((id) => !accepted.has(id)).length + unparsable

// --- figures and verdict -----------------------------------------------------------------------------------------
const pct = (xs: Array<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}
const p99 = pct(latencies, 99)
const slowBodies = slow.filter((s) => s.kind === "slow body")
const slow408 = slowBodies.filter((s) => s.status === 408).length
const closedByServer = (kind: string) => slow.filter((s) => s.kind === kind && s.closedByServer).length
const slowHeaders = slow.length - slowBodies.length
const mb = (k: number) => (k / 1024).toFixed(0)

if (!stillUp) fail(`the collector exited during the run (code ${collector.exitCode})`)
if (exitCode !== 0) fail(`the collector exited ${exitCode} on SIGINT instead of 0`)
if (healthFailures > 0)
  fail(
    `/health failed ${healthFailures} times during the run (no 200 within ${HEALTH_TIMEOUT_MS} ms, compose's healthcheck timeout)`,
  )
if (healthLatencies.length < SECONDS / 6)
  fail(`/health was probed only ${healthLatencies.length} times in ${SECONDS} s`)
if (timeouts > 0) fail(`${timeouts} requests got no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)
if (p99 > P99_MS) fail(`p99 latency ${p99.toFixed(0)} ms is over ${P99_MS} ms`)
if (rssPeak / 1024 > MAX_RSS_MB || hwm / 1024 > MAX_RSS_MB) {
  fail(`RSS peaked at ${mb(Math.max(rssPeak, hwm))} MB, over ${MAX_RSS_MB} MB`)
}
// A slot's last connection may be cut by the deadline before its 408: count only those the server ended.
const bodiesEnded = slowBodies.filter((s) => s.closedByServer)
if (bodiesEnded.some((s) => s.status !== 408)) {
  fail(`${bodiesEnded.filter((s) => s.status !== 408).length} slow bodies were closed without a 408`)
}
if (slow408 === 0) fail("no slow body was answered 408: the body deadline did not work")
if (accepted.size === 0) fail("no event was accepted: the run proves nothing")
for (const [kind, , statuses] of MIX) {
  if (!statusCounts.has(`${kind} ${statuses[0]}`)) fail(`no ${kind} request was answered ${statuses[0]}`)
}
if (!statusCounts.has("browser batch 429")) fail("the per-client rate limit never answered 429")
if (missing > 0) fail(`${missing} accepted events are not on events.raw`)
if (duplicated > 0) fail(`${duplicated} events are on events.raw more than once`)
if (landedRefused > 0) fail(`${landedRefused} events of refused requests are on events.raw`)
if (strangers > 0) fail(`${strangers} records on events.raw were never accepted`)

const rows: Array<[string, string]> = [
  ["requests (bounded loop)", `${REQUESTS} in ${loopSeconds.toFixed(1)} s, concurrency ${CONCURRENCY}`],
  [
    "latency p50 / p99 / max",
    `${pct(latencies, 50).toFixed(1)} / ${p99.toFixed(1)} / ${pct(latencies, 100).toFixed(1)} ms`,
  ],
  [
    "slow connections",
    `${SLOW} slots for ${SECONDS} s, ${slow.length} connections: slow bodies ${slow408}/${slowBodies.length} answered 408 (${closedByServer("slow body")} closed by the server); endless headers ${closedByServer("endless headers")}/${slowHeaders} closed by the server`,
  ],
  [
    "/health during the run",
    `${healthLatencies.length} probes over ${runSeconds.toFixed(0)} s, ${healthFailures} failed, p99 ${pct(healthLatencies, 99).toFixed(1)} ms, max ${pct(healthLatencies, 100).toFixed(1)} ms`,
  ],
  ["RSS before / peak (sampled) / VmHWM", `${mb(rssBefore)} / ${mb(rssPeak)} / ${mb(hwm)} MB`],
  [
    "events accepted (202)",
    `${accepted.size} (rate limited browser requests: ${statusCounts.get("browser batch 429") ?? 0})`,
  ],
  [
    "records on events.raw (consume)",
    `${onTopic} (missing ${missing}, duplicated ${duplicated}, from refused requests ${landedRefused})`,
  ],
]
const width = Math.max(...rows.map(([k]) => k.length))
console.log("collector abuse run (127.0.0.1)")
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
console.log("  answers by kind:")
for (const [label, n] of [...statusCounts].sort()) console.log(`    ${label.padEnd(28)} ${n}`)

if (!flags.keep) rmSync(dataDir, { recursive: true, force: true })
if (failures.length > 0) {
  console.log(`FAILED (${failures.length}):`)
  for (const f of failures) console.log(`  - ${f}`)
  process.exit(1)
}
console.log("OK: stayed up, answered in time, every accepted event on events.raw exactly once, RSS bounded")
