import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { gunicornArgs, supersetChildArgs, supersetSettings } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "superset-bind-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const withEnv = <A>(env: Record<string, string | undefined>, f: () => A): A => {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]
  try {
    return f()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

const bind = (args: Array<string>) => args[args.indexOf("--bind") + 1]

test("Superset (gunicorn) binds 127.0.0.1 unless --host or SUPERSET_HOST; bun run dev passes its host on", () => {
  const env = { DATA_DIR: dir, SHOP_ENV: undefined, SUPERSET_ADMIN_PASSWORD: undefined }
  expect(
    bind(gunicornArgs(withEnv({ ...env, SUPERSET_HOST: undefined }, () => Effect.runSync(supersetSettings(8088))))),
  ).toBe("127.0.0.1:8088")
  expect(
    bind(gunicornArgs(withEnv({ ...env, SUPERSET_HOST: "0.0.0.0" }, () => Effect.runSync(supersetSettings(8089))))),
  ).toBe("0.0.0.0:8089")
  expect(bind(gunicornArgs(withEnv(env, () => Effect.runSync(supersetSettings(8088, "10.1.2.3")))))).toBe(
    "10.1.2.3:8088",
  )
  expect(bind(gunicornArgs({ host: "::1", port: 8088 }))).toBe("[::1]:8088")
  const child = supersetChildArgs(8088, "127.0.0.1")
  expect(child.slice(-4)).toEqual(["--port", "8088", "--host", "127.0.0.1"])
})
