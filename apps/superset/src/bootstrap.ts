import { createHash } from "node:crypto"
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { ALL_TABLES } from "@shop/lake"
import { ensurePythonEnv } from "@shop/python-env"
import { Effect } from "effect"
import { SupersetError } from "./SupersetError.ts"
import { type SupersetSettings, supersetDir, supersetProcessEnv } from "./supersetEnv.ts"

const log = (line: string) => process.stderr.write(`[superset] ${line}\n`)

/** Creates superset/.venv from superset/requirements.txt on first use (pip prints each package as it goes). */
export const ensureSupersetVenv = Effect.try({
  try: () => ensurePythonEnv("superset/.venv", "superset/requirements.txt"),
  catch: (e) => new SupersetError({ step: "install", message: e instanceof Error ? e.message : String(e) }),
})

const tail = (file: string, lines: number) => readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")

/** Runs one command of the venv with its output in $DATA_DIR/superset/bootstrap.log. */
const run = (s: SupersetSettings, step: string, cmd: ReadonlyArray<string>, ok?: (out: string) => boolean) =>
  Effect.tryPromise({
    try: async () => {
      const logFile = join(s.home, "bootstrap.log")
      const started = performance.now()
      log(`${step}...`)
      const fd = openSync(logFile, "a")
      const proc = Bun.spawn([...cmd], { env: supersetProcessEnv(s), stdout: fd, stderr: fd })
      const code = await proc.exited
      closeSync(fd)
      if (code !== 0 && !(ok?.(tail(logFile, 5)) ?? false)) {
        throw new Error(`exit code ${code}; last lines of ${logFile}:\n${tail(logFile, 15)}`)
      }
      log(`${step} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    },
    catch: (e) => new SupersetError({ step, message: e instanceof Error ? e.message : String(e) }),
  })

const superset = (s: SupersetSettings, step: string, args: ReadonlyArray<string>, ok?: (out: string) => boolean) =>
  run(s, step, ["superset", ...args], ok)
const python = (s: SupersetSettings, step: string, args: ReadonlyArray<string>) =>
  run(s, step, [join(supersetDir, ".venv", "bin", "python"), ...args])

const bundleDir = join(supersetDir, "bundle")
const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name)) : [join(dir, d.name)],
  )

/** Changes when anything the bootstrap installs changes: then the steps run again (each is idempotent). */
const bootstrapStamp = (s: SupersetSettings) => {
  const h = createHash("sha256")
  for (const f of [
    join(supersetDir, "requirements.txt"),
    join(supersetDir, "tools", "import_bundle.py"),
    ...filesUnder(bundleDir).sort(),
  ]) {
    h.update(relative(supersetDir, f)).update(readFileSync(f))
  }
  return h.update(s.adminUser).update(s.adminPassword).digest("hex")
}

/**
 * The lake's table schemas for superset/shop_lake.py, which gives a table without files yet an empty view of the
 * right columns (a young lake has no returns, say), so the views built on it still work. Written every start.
 */
export const writeLakeTables = (s: SupersetSettings) =>
  writeFileSync(
    join(s.home, "lake_tables.json"),
    JSON.stringify(ALL_TABLES.map((t) => ({ name: t.name, columns: t.columns.map((c) => [c.name, c.type]) }))),
  )

/**
 * Migrates the metadata DB, creates (or re-passwords) the admin, syncs roles (`superset init`) and imports the
 * dashboard bundle, overwriting by UUID. Skipped when nothing changed since the last run.
 */
export const bootstrap = (s: SupersetSettings, force = false) =>
  Effect.gen(function* () {
    writeLakeTables(s)
    const stampFile = join(s.home, "bootstrap.stamp")
    const stamp = bootstrapStamp(s)
    if (!force && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) {
      log("metadata, admin and dashboards are up to date")
      return
    }
    yield* superset(s, "migrating the metadata DB (superset db upgrade)", ["db", "upgrade"])
    const admin = ["--username", s.adminUser, "--password", s.adminPassword]
    yield* superset(
      s,
      `creating admin user '${s.adminUser}'`,
      ["fab", "create-admin", ...admin, "--firstname", "Shop", "--lastname", "Admin", "--email", "admin@localhost"],
      (out) => out.includes("already exists"),
    )
    yield* superset(s, "setting the admin password", ["fab", "reset-password", ...admin])
    yield* superset(s, "roles and permissions (superset init)", ["init"])
    yield* python(s, "importing the dashboards (datasets, charts, dashboards)", [
      join(supersetDir, "tools", "import_bundle.py"),
      s.adminUser,
    ])
    writeFileSync(stampFile, stamp)
  })
