/** The dashboard bundle is self-consistent and portable (fast; runs in plain `bun test`). */
import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { supersetDir } from "../src/supersetEnv.ts"

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
})
