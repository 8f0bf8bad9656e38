import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { gzipSync } from "node:zlib"
import { trackerScript } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

describe("the tracker's build", () => {
  test("one minified script for a plain <script> tag: no module syntax, no dependency, under 5 KB gzipped", async () => {
    const built = await trackerScript()
    // A classic script: an import/export or require would fail in a plain script tag.
    expect(built.source).not.toMatch(/\bimport\s*[{("*]|\bexport\s|\brequire\(/)
    expect(built.source.split("\n").filter((l) => l.trim() !== "").length).toBeLessThanOrEqual(2)
    expect(built.gzipBytes).toBe(gzipSync(built.source, { level: 9 }).length)
    expect(built.gzipBytes).toBeLessThan(5 * 1024)
    // It runs as an IIFE: its top-level names stay out of the page's global scope.
    expect(built.source.trimStart().startsWith("(")).toBe(true)
    expect(built.etag).toMatch(/^"[0-9a-z]+"$/)
  })
})
