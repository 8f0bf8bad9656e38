/** The dashboard bundle is self-consistent and portable (fast; runs in plain `bun test`). */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { supersetDir } from "../src/supersetEnv.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const bundle = join(supersetDir, "bundle")
const load = (dir: string) =>
  readdirSync(join(bundle, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => ({ file: join(dir, f), text: readFileSync(join(bundle, dir, f), "utf8") }))
    .map(({ file, text }) => ({ file, text, yaml: Bun.YAML.parse(text) as Record<string, unknown> }))

const databases = load("databases")
const datasets = load("datasets")
const charts = load("charts")
const dashboards = load("dashboards")

describe("dashboard bundle", () => {
  test("one in-memory DuckDB database; no absolute path, host or secret anywhere", () => {
    expect(databases.map((d) => d.yaml.sqlalchemy_uri)).toEqual(["duckdb:///:memory:"])
    for (const f of [...databases, ...datasets, ...charts, ...dashboards]) {
      expect({
        file: f.file,
        hit: f.text.match(/\/(tmp|home|work|root|Users|data)\/|read_parquet|password/i)?.[0],
      }).toEqual({ file: f.file, hit: undefined })
    }
  })

  test("every dataset is on the database, every chart on a dataset, every dashboard chart exists", () => {
    const dbUuids = new Set(databases.map((d) => d.yaml.uuid))
    const datasetUuids = new Set(datasets.map((d) => d.yaml.uuid))
    const chartUuids = new Set(charts.map((c) => c.yaml.uuid))
    for (const d of datasets) expect(dbUuids.has(d.yaml.database_uuid)).toBe(true)
    for (const c of charts)
      expect({ chart: c.file, ok: datasetUuids.has(c.yaml.dataset_uuid) }).toEqual({ chart: c.file, ok: true })
    const placed = dashboards.flatMap((d) =>
      Object.values(d.yaml.position as Record<string, { type?: string; meta?: { uuid?: string } }>)
        .filter((p) => p.type === "CHART")
        .map((p) => p.meta?.uuid),
    )
    for (const uuid of placed) expect(chartUuids.has(uuid)).toBe(true)
    expect(new Set(placed).size).toBe(charts.length) // every chart is on a dashboard, once
  })

  test("the five dashboards; Right now refreshes every 10 s", () => {
    const byTitle = Object.fromEntries(
      dashboards.map((d) => [
        d.yaml.dashboard_title,
        (d.yaml.metadata as { refresh_frequency: number }).refresh_frequency,
      ]),
    )
    expect(byTitle).toEqual({
      "Right now": 10,
      "Daily business": 0,
      "Funnel & sessions": 0,
      Customers: 0,
      Products: 0,
    })
  })

  // Issue 17: Superset formatted as a shop owner reads it.
  const datasetByUuid = new Map(datasets.map((d) => [d.yaml.uuid, d.yaml]))
  type Metric = { label?: string; sqlExpression?: string }
  type Params = Record<string, unknown> & { viz_type: string; metrics?: Array<Metric>; metric?: Metric }
  const params = (c: (typeof charts)[number]) => c.yaml.params as Params
  const metricsOf = (p: Params) => [...(p.metrics ?? []), ...(p.metric ? [p.metric] : [])]
  const MONEY = /\b(net_revenue|gmv|refunds|total_collected|revenue|list_price)\b/i
  const RATE = /\* 1\.0 \/|retention_rate|_rate\b/i
  const CURRENCY = { symbol: "USD", symbolPosition: "prefix" }

  test("money: every money metric of a dataset has the currency; every chart of money shows $ and two decimals", () => {
    for (const d of datasets) {
      const columns = d.yaml.columns as Array<{ column_name: string }>
      const money = columns.map((c) => c.column_name).filter((c) => MONEY.test(c))
      const metrics = d.yaml.metrics as Array<{ metric_name: string; currency?: unknown; d3format?: string }>
      for (const c of money) {
        const m = metrics.find((x) => x.metric_name === `sum_${c}`)
        expect({ dataset: d.file, c, currency: m?.currency, d3: m?.d3format }).toEqual({
          dataset: d.file,
          c,
          currency: CURRENCY,
          d3: ",.2f",
        })
      }
    }
    let moneyCharts = 0
    for (const c of charts) {
      const p = params(c)
      const ms = metricsOf(p)
      if (ms.length === 0 || !ms.every((m) => MONEY.test(m.sqlExpression ?? "") && !RATE.test(m.sqlExpression ?? "")))
        continue
      if (ms.some((m) => /AOV|orders/i.test(m.label ?? "") && !/revenue/i.test(m.label ?? ""))) continue
      moneyCharts++
      const format = p.viz_type === "pie" ? p.number_format : p.y_axis_format
      expect({ chart: c.file, currency: p.currency_format, format }).toEqual({
        chart: c.file,
        currency: CURRENCY,
        format: ",.2f",
      })
    }
    expect(moneyCharts).toBeGreaterThan(8)
  })

  test("rates are percentages", () => {
    let rateCharts = 0
    for (const c of charts) {
      const p = params(c)
      const ms = metricsOf(p)
      if (ms.length === 0 || !ms.every((m) => RATE.test(m.sqlExpression ?? ""))) continue
      rateCharts++
      expect({ chart: c.file, format: String(p.y_axis_format) }).toEqual({
        chart: c.file,
        format: expect.stringMatching(/%$/) as unknown as string,
      })
    }
    expect(rateCharts).toBeGreaterThan(4)
    // Rate and money columns of tables are formatted per column.
    for (const c of charts.filter((c) => params(c).viz_type === "table")) {
      const p = params(c)
      const config = (p.column_config ?? {}) as Record<string, { d3NumberFormat?: string; currencyFormat?: unknown }>
      for (const col of (p.all_columns ?? []) as Array<string>) {
        if (/_rate$/.test(col)) expect({ col, f: config[col]?.d3NumberFormat }).toEqual({ col, f: ".1%" })
        if (MONEY.test(col)) expect({ col, cur: config[col]?.currencyFormat }).toEqual({ col, cur: CURRENCY })
      }
    }
  })

  test("every column a chart shows has a readable name; daily axes show dates; lines show single points", () => {
    for (const c of charts) {
      const p = params(c)
      const dataset = datasetByUuid.get(c.yaml.dataset_uuid) as { columns: Array<Record<string, unknown>> }
      const shown = [
        ...((p.all_columns ?? []) as Array<string>),
        ...(Array.isArray(p.groupby) ? (p.groupby as Array<string>) : p.groupby ? [p.groupby as string] : []),
        ...(typeof p.x_axis === "string" ? [p.x_axis] : []),
      ]
      for (const col of shown) {
        const v = dataset.columns.find((x) => x.column_name === col)?.verbose_name
        expect({ chart: c.file, col, readable: typeof v === "string" && v.length > 0 && !v.includes("_") }).toEqual({
          chart: c.file,
          col,
          readable: true,
        })
      }
      if (p.time_grain_sqla === "P1D" && p.x_axis_time_format !== undefined) {
        expect({ chart: c.file, f: p.x_axis_time_format }).toEqual({ chart: c.file, f: "%b %-d" })
      }
      // A daily line of one day is one point: markers show it; a minute line of 60 points needs none.
      if (p.viz_type === "echarts_timeseries_line" && p.time_grain_sqla === "P1D")
        expect({ chart: c.file, m: p.markerEnabled }).toEqual({ chart: c.file, m: true })
      // A big number of the newest day or minute says which one it is.
      if (p.viz_type === "big_number")
        expect({ chart: c.file, t: p.show_timestamp }).toEqual({ chart: c.file, t: true })
    }
  })

  test("each daily dashboard says what time its numbers are as of, and that the last day is partial", () => {
    for (const slug of ["daily-business", "funnel-sessions", "customers"]) {
      const d = dashboards.find((x) => x.yaml.slug === slug)!
      const position = d.yaml.position as Record<string, { type?: string; meta?: { uuid?: string } }>
      const placed = Object.values(position)
        .filter((p) => p.type === "CHART")
        .map((p) => p.meta?.uuid)
      const asOf = charts.find((c) => placed.includes(c.yaml.uuid as string) && c.yaml.slice_name === "Data as of")
      expect({ slug, asOf: asOf === undefined ? undefined : params(asOf).force_timestamp_formatting }).toEqual({
        slug,
        asOf: true,
      })
      expect({ slug, partial: /partial/.test(JSON.stringify(position) + JSON.stringify(asOf?.yaml)) }).toEqual({
        slug,
        partial: true,
      })
    }
  })

  /** Chart uuid -> its width in grid columns (of 12) on its dashboard. */
  const widths = new Map(
    dashboards.flatMap((d) =>
      Object.values(d.yaml.position as Record<string, { type?: string; meta?: { uuid?: string; width?: number } }>)
        .filter((p) => p.type === "CHART")
        .map((p) => [p.meta?.uuid, p.meta?.width ?? 12] as const),
    ),
  )

  // Seen in the screenshots of a first run (issue 17): "13:1513:2013:25" on the 4-column minute charts (a fixed
  // time format is not spaced by ECharts), 3 of 5 UTM sources named, the funnel's labels only its step names and
  // hard to read on its dark segments, and a warning icon on the Right-now tables (row limit reached).
  test("labels fit: narrow minute axes are rotated, category axes name every bar", () => {
    for (const c of charts) {
      const p = params(c)
      const width = widths.get(c.yaml.uuid as string)!
      if (String(p.viz_type).startsWith("echarts_timeseries") && p.time_grain_sqla === "PT1M" && width < 6)
        expect({ chart: c.file, rotation: p.xAxisLabelRotation }).toEqual({ chart: c.file, rotation: 45 })
      if (p.viz_type === "echarts_timeseries_bar" && p.time_grain_sqla === undefined)
        expect({ chart: c.file, interval: p.xAxisLabelInterval }).toEqual({ chart: c.file, interval: "0" })
      // A horizontal bar's last value label sits on the grid's right edge: a legend on the right makes room.
      if (p.orientation === "horizontal")
        expect({
          chart: c.file,
          legend: p.show_legend && p.legendOrientation,
          margin: Number(p.legendMargin) >= 80,
        }).toEqual({
          chart: c.file,
          legend: "right",
          margin: true,
        })
    }
  })

  test("the funnel labels step, count and share, in dark text on light segments", () => {
    const funnel = charts.find((c) => params(c).viz_type === "funnel")!
    // Superset 6.1's funnel takes its label types as numbers (5: key, value and percent); a name shows the key only.
    expect(params(funnel).label_type).toBe(5)
    expect(params(funnel).tooltip_label_type).toBe(5)
    const d = dashboards.find((x) => x.yaml.slug === "funnel-sessions")!
    const colors = (d.yaml.metadata as { label_colors: Record<string, string> }).label_colors
    const steps = ["1. sessions", "2. viewed a product", "3. added to cart", "4. started checkout", "5. ordered"]
    for (const step of steps) {
      const hex = colors[step] ?? "#000000"
      const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255)
      // Relative luminance (sRGB, WCAG): above 0.4, dark text reads at 7:1 or better.
      const lin = (v: number) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
      const luminance = 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!)
      expect({ step, light: luminance > 0.4 }).toEqual({ step, light: true })
    }
  })

  test("no table reaches its row limit (Superset shows a warning icon then)", () => {
    for (const c of charts.filter((c) => params(c).viz_type === "table")) {
      const p = params(c)
      const filters = JSON.stringify(p.adhoc_filters ?? [])
      const bound = /rank <= (\d+)/.exec(filters)
      if (bound !== null)
        expect({ chart: c.file, ok: Number(p.row_limit) > Number(bound[1]) }).toEqual({ chart: c.file, ok: true })
      else expect({ chart: c.file, limit: Number(p.row_limit) }).toEqual({ chart: c.file, limit: 1000 })
    }
    const rightNow = charts.filter((c) => params(c).viz_type === "table" && String(c.file).includes("rt_"))
    expect(rightNow.length).toBe(2)
    for (const c of rightNow) expect(JSON.stringify(params(c).adhoc_filters)).toContain("rank <= 10")
  })
})
