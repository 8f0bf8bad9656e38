/**
 * Spec helpers shared by every package's tests (imported as `@shop/runtime/testing`, never by a program):
 * a temp directory that lives as long as a scope, and `testEffect`, the bun:test runner for an Effect.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, type Layer, type Scope } from "effect"

/** A fresh directory under the system temp dir, removed with everything in it when the scope closes. */
export const scopedTempDir = (prefix = "spec-"): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  )

/**
 * Runs a spec's effect with `layer` and a scope of its own, as the Promise bun:test awaits (there is no bun
 * adapter for @effect/vitest): `const run = testEffect(Lake.layerTest); test("x", () => run(Effect.gen(...)))`.
 */
export const testEffect =
  <ROut, E2>(layer: Layer.Layer<ROut, E2>) =>
  <A, E>(effect: Effect.Effect<A, E, ROut | Scope.Scope>): Promise<A> =>
    Effect.runPromise(effect.pipe(Effect.provide(layer), Effect.scoped))
