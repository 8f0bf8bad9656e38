/**
 * Superset in a real browser: logs in, opens every shipped dashboard in headless Chromium and checks that every
 * chart got data (HTTP 200, rows > 0) and rendered (no error box, no "no results", something drawn), saving a
 * screenshot of each. Needs a running, bootstrapped Superset over a lake with data, so it only runs when
 * SUPERSET_E2E_URL is set (the CI step `.ci/run` "superset suite" sets it up); plain `bun test` skips it.
 *
 *   SUPERSET_E2E_URL=http://localhost:8088 [CHROMIUM=/usr/bin/chromium] bun test apps/superset/test
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const url = process.env.SUPERSET_E2E_URL
const dataDir = resolve(process.env.DATA_DIR ?? "./data")
const shotsDir = resolve(process.env.SUPERSET_SCREENSHOTS ?? join(dataDir, "superset", "screenshots"))

const DASHBOARDS = [
  { slug: "right-now", title: "Right now", refresh: 10 },
  { slug: "daily-business", title: "Daily business", refresh: 0 },
  { slug: "funnel-sessions", title: "Funnel & sessions", refresh: 0 },
  { slug: "customers", title: "Customers", refresh: 0 },
  { slug: "products", title: "Products", refresh: 0 },
]

interface ChartResult {
  readonly sliceId: number | undefined
  readonly status: number
  readonly rowcounts: ReadonlyArray<number>
  readonly error: string | undefined
}

const password = () => {
  const fromEnv = process.env.SUPERSET_ADMIN_PASSWORD
  if (fromEnv) return fromEnv
  return readFileSync(join(dataDir, "superset", "admin_password"), "utf8").trim()
}

/** Records every /api/v1/chart/data answer, read before any navigation can discard the body. */
const watchChartData = (page: Page, results: Array<ChartResult>) =>
  page.on("response", async (r) => {
    if (!r.url().includes("/api/v1/chart/data")) return
    const sliceId = (r.request().postDataJSON() as { form_data?: { slice_id?: number } } | null)?.form_data?.slice_id
    try {
      const body = (await r.json()) as { result?: Array<{ rowcount: number }>; message?: string }
      results.push({
        sliceId,
        status: r.status(),
        rowcounts: body.result?.map((x) => x.rowcount) ?? [],
        error: body.message,
      })
    } catch (e) {
      results.push({ sliceId, status: r.status(), rowcounts: [], error: String(e) })
    }
  })

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await Bun.sleep(250)
  }
}

describe.skipIf(!url)("Superset dashboards in headless Chromium", () => {
  let browser: Browser
  let page: Page
  const results: Array<ChartResult> = []

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    })
    page = await browser.newPage({ viewport: { width: 1600, height: 2400 } })
    watchChartData(page, results)
    mkdirSync(shotsDir, { recursive: true })
    // Log in through the form; a server that just came up may bounce the first attempt, so try twice.
    for (let attempt = 1; ; attempt++) {
      await page.goto(`${url}/login/`)
      await page.fill("#username", process.env.SUPERSET_ADMIN_USERNAME ?? "admin")
      await page.fill("#password", password())
      await page.click('[data-test="login-button"], button[type=submit]')
      await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 30_000 }).catch(() => undefined)
      const me = await page.request.get(`${url}/api/v1/me/`)
      if (me.status() === 200) break
      if (attempt === 2) throw new Error(`login failed: /api/v1/me/ answered ${me.status()}`)
    }
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
  })

  test("every dashboard of the bundle is there", async () => {
    const res = await page.request.get(`${url}/api/v1/dashboard/?q=(page_size:100)`)
    expect(res.status()).toBe(200)
    const titles = ((await res.json()) as { result: Array<{ dashboard_title: string }> }).result.map(
      (d) => d.dashboard_title,
    )
    expect(titles.sort()).toEqual(DASHBOARDS.map((d) => d.title).sort())
  })

  for (const dashboard of DASHBOARDS) {
    test(`${dashboard.title}: every chart rendered with data`, async () => {
      const meta = await page.request.get(`${url}/api/v1/dashboard/${dashboard.slug}`)
      expect(meta.status()).toBe(200)
      const json_metadata = ((await meta.json()) as { result: { json_metadata: string } }).result.json_metadata
      expect(JSON.parse(json_metadata).refresh_frequency ?? 0).toBe(dashboard.refresh)
      const charts = await page.request.get(`${url}/api/v1/dashboard/${dashboard.slug}/charts`)
      const chartIds = ((await charts.json()) as { result: Array<{ id: number }> }).result.map((c) => c.id)
      expect(chartIds.length).toBeGreaterThan(0)

      results.length = 0
      await page.goto(`${url}/superset/dashboard/${dashboard.slug}/`)
      const answered = () => new Set(results.map((r) => r.sliceId))
      await until(`chart data for ${chartIds.length} charts`, () => chartIds.every((id) => answered().has(id)), 120_000)
      for (const id of chartIds) {
        const r = results.find((x) => x.sliceId === id)!
        expect({ id, status: r.status, error: r.error }).toEqual({ id, status: 200, error: undefined })
        expect(r.rowcounts.length).toBeGreaterThan(0)
        expect(Math.min(...r.rowcounts)).toBeGreaterThan(0)
      }

      // Rendered: one container per chart, none still loading, no error or empty state, something drawn.
      const containers = page.locator('[data-test="chart-container"]')
      await until(
        "charts to finish rendering",
        async () =>
          (await containers.count()) === chartIds.length &&
          (await page.locator('[data-test="chart-container"] .loading, [data-test="loading-indicator"]').count()) === 0,
        60_000,
      )
      await Bun.sleep(1_500) // let the ECharts entry animations end before the screenshot
      // Runs in the page; typed structurally because the project's TypeScript has no DOM library.
      type Node = { textContent: string | null; querySelector(selector: string): Node | null }
      const problems = await containers.evaluateAll((elements) =>
        (elements as unknown as Array<Node>).flatMap((el, i) => {
          const text = el.textContent ?? ""
          const drawn = el.querySelector("canvas, svg, table") !== null || /\d/.test(text)
          const error = el.querySelector('.ant-alert-error, [data-test="error-message"], .alert-danger')
          return [
            ...(drawn ? [] : [`chart ${i}: nothing drawn`]),
            ...(error ? [`chart ${i}: error box: ${(error.textContent ?? "").slice(0, 200)}`] : []),
            ...(/No results were returned|No data/i.test(text) ? [`chart ${i}: empty`] : []),
          ]
        }),
      )
      const shot = join(shotsDir, `${dashboard.slug}.png`)
      await page.screenshot({ path: shot, fullPage: true })
      expect(problems).toEqual([])
      expect(existsSync(shot)).toBe(true)

      if (dashboard.refresh > 0) {
        // Auto-refresh: the charts ask for data again within the period (plus slack for a busy machine).
        results.length = 0
        await until("an auto-refresh", () => results.length > 0, (dashboard.refresh + 15) * 1000)
      }
    }, 240_000)
  }

  /** Runs SQL through SQL Lab on the shop's database, as the logged-in admin. */
  const sqlLab = async (sql: string) => {
    const csrf = ((await (await page.request.get(`${url}/api/v1/security/csrf_token/`)).json()) as { result: string })
      .result
    const dbs = (await (await page.request.get(`${url}/api/v1/database/`)).json()) as {
      result: Array<{ id: number; database_name: string }>
    }
    const database_id = dbs.result.find((d) => d.database_name === "shop lake (DuckDB)")!.id
    const res = await page.request.post(`${url}/api/v1/sqllab/execute/`, {
      headers: { "X-CSRFToken": csrf, Referer: `${url}/sqllab/` },
      data: { database_id, schema: "main", sql, runAsync: false },
    })
    return { status: res.status(), body: (await res.json()) as { data?: Array<Record<string, unknown>> } }
  }

  test("the DuckDB connection reaches the lake's Parquet and nothing else (no pipeline DuckDB file to lock)", async () => {
    expect((await sqlLab("select count(*) as n from page_view")).status).toBe(200)
    const outside = await sqlLab(`select * from read_csv('/etc/hostname')`)
    expect(outside.status).not.toBe(200)
    expect(JSON.stringify(outside.body)).toContain("Permission Error")
  })

  // Writes to DATA_DIR (runs the real pipeline), so only where the suite owns the lake.
  test.skipIf(!process.env.SUPERSET_E2E_PIPELINE)(
    "new events show up without restarting Superset (the pipeline writes while it runs)",
    async () => {
      const count = async () => {
        const { status, body } = await sqlLab("select count(*) as n from all_events")
        expect(status).toBe(200)
        return Number(body.data![0]!.n)
      }
      const before = await count()
      const run = (args: ReadonlyArray<string>) => {
        const p = Bun.spawnSync(["bun", "run", ...args], { stdout: "ignore", stderr: "pipe" })
        if (p.exitCode !== 0) throw new Error(`bun run ${args.join(" ")}: ${p.stderr.toString().slice(-500)}`)
      }
      run(["generate", "--", "--eps", "200", "--duration", "3s", "--seed", String(Date.now() % 1_000_000)])
      run(["pipeline", "--", "--available-now"])
      const after = await count()
      expect(after).toBeGreaterThan(before + 300)
    },
    120_000,
  )
})
