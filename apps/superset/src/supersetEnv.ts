import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { DataDir, defaultHost } from "@shop/runtime"
import { Config, Effect } from "effect"
import { SupersetError } from "./SupersetError.ts"

/** The repo's superset/ folder: config, the lake views, the dashboard bundle, requirements. */
export const supersetDir = resolve(import.meta.dir, "../../../superset")
export const venvDir = join(supersetDir, ".venv")

export interface SupersetSettings {
  readonly dataDir: string
  /** Superset's own files: metadata DB, secret key, generated admin password. */
  readonly home: string
  readonly adminUser: string
  readonly adminPassword: string
  /** Where the admin password came from, to tell the user. */
  readonly passwordSource: string
  readonly port: number
  /** The address gunicorn binds: 127.0.0.1 unless given (`--host`, SUPERSET_HOST). */
  readonly host: string
}

/**
 * Admin credentials from SUPERSET_ADMIN_USERNAME / SUPERSET_ADMIN_PASSWORD. For local dev a password is
 * generated once into $DATA_DIR/superset/admin_password; in production (SHOP_ENV=production) it must be set.
 */
export const supersetSettings = (
  port: number,
  host: string = defaultHost("SUPERSET_HOST"),
): Effect.Effect<SupersetSettings, SupersetError | Config.ConfigError> =>
  Effect.gen(function* () {
    const dataDir = yield* DataDir
    const adminUser = yield* Config.String("SUPERSET_ADMIN_USERNAME").pipe(Config.withDefault("admin"))
    const fromEnv = yield* Config.String("SUPERSET_ADMIN_PASSWORD").pipe(Config.withDefault(""))
    const production = (yield* Config.String("SHOP_ENV").pipe(Config.withDefault(""))) === "production"
    const home = join(dataDir, "superset")
    mkdirSync(home, { recursive: true })
    if (fromEnv !== "") {
      return { dataDir, home, adminUser, adminPassword: fromEnv, passwordSource: "SUPERSET_ADMIN_PASSWORD", port, host }
    }
    if (production) {
      return yield* new SupersetError({
        step: "settings",
        message: "SUPERSET_ADMIN_PASSWORD must be set when SHOP_ENV=production",
      })
    }
    const file = join(home, "admin_password")
    if (!existsSync(file)) writeFileSync(file, randomBytes(12).toString("base64url"), { mode: 0o600 })
    return {
      dataDir,
      home,
      adminUser,
      adminPassword: readFileSync(file, "utf8").trim(),
      passwordSource: file,
      port,
      host,
    }
  })

/** The environment every `superset` command runs with. */
export const supersetProcessEnv = (s: SupersetSettings): Record<string, string> => ({
  ...(process.env as Record<string, string>),
  DATA_DIR: s.dataDir,
  SUPERSET_CONFIG_PATH: join(supersetDir, "superset_config.py"),
  SUPERSET_HOME: s.home,
  FLASK_APP: "superset",
  PATH: `${join(venvDir, "bin")}:${process.env.PATH ?? ""}`,
  PYTHONUNBUFFERED: "1",
  // No usage telemetry off the machine (superset_config.py also blocks Superset's Scarf pixel).
  SCARF_ANALYTICS: "false",
})
