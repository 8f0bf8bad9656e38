import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect, Exit } from "effect"
import { adminApiStatus } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

// A stand-in for Redpanda's Admin API on localhost, answering with the documented payloads.
let mode: "ready" | "booting" | "garbage" = "ready"
const server = Bun.serve({
  port: 0,
  routes: {
    "/v1/status/ready": () =>
      mode === "booting" ? Response.json({ status: "booting" }, { status: 503 }) : Response.json({ status: "ready" }),
    "/v1/cluster/health_overview": () =>
      mode === "garbage"
        ? Response.json({ healthy: "yes" })
        : Response.json({
            is_healthy: mode === "ready",
            controller_id: mode === "ready" ? 0 : -1,
            all_nodes: [0],
            nodes_down: mode === "ready" ? [] : [0],
            leaderless_partitions: mode === "ready" ? [] : ["kafka/events.raw/0"],
            under_replicated_partitions: [],
            bytes_in_cloud_storage: -1,
          }),
  },
})
afterAll(() => server.stop(true))
const base = `http://localhost:${server.port}`

describe("Redpanda Admin API client", () => {
  test("reads readiness and the health overview", async () => {
    mode = "ready"
    const status = await Effect.runPromise(adminApiStatus(base))
    expect(status.ready).toBe(true)
    expect(status.health).toMatchObject({ is_healthy: true, controller_id: 0, nodes_down: [] })
  })

  test("a booting node is not ready, and its leaderless partitions are reported", async () => {
    mode = "booting"
    const status = await Effect.runPromise(adminApiStatus(base))
    expect(status.ready).toBe(false)
    expect(status.health.is_healthy).toBe(false)
    expect(status.health.leaderless_partitions).toEqual(["kafka/events.raw/0"])
  })

  test("an unexpected answer and an unreachable API are typed errors, after retries", async () => {
    mode = "garbage"
    const garbage = await Effect.runPromiseExit(adminApiStatus(base))
    expect(Exit.isFailure(garbage)).toBe(true)
    expect(JSON.stringify(garbage)).toContain("AdminApiError")
    const t0 = performance.now()
    const down = await Effect.runPromiseExit(adminApiStatus("http://127.0.0.1:9"))
    expect(JSON.stringify(down)).toContain("AdminApiError")
    // Three retries with exponential backoff from 200 ms.
    expect(performance.now() - t0).toBeGreaterThan(1_000)
  }, 30_000)
})
