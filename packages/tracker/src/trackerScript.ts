import { gzipSync } from "node:zlib"

const ENTRY = new URL("../browser/tracker.ts", import.meta.url).pathname

/** The built tracker: what GET /v1/tracker.js serves, with an ETag and its gzipped size. */
export interface TrackerScript {
  readonly source: string
  readonly etag: string
  readonly gzipBytes: number
}

let built: Promise<TrackerScript> | undefined

/**
 * Builds packages/tracker/browser/tracker.ts with Bun.build (minified, one IIFE for a plain script tag), once
 * per process: the collector serves it from memory.
 */
export const trackerScript = (): Promise<TrackerScript> => {
  built ??= (async () => {
    const result = await Bun.build({ entrypoints: [ENTRY], target: "browser", format: "iife", minify: true })
    if (!result.success || result.outputs.length !== 1) {
      throw new Error(`building the tracker failed: ${result.logs.map((l) => l.message).join("; ")}`)
    }
    const source = await result.outputs[0]!.text()
    return {
      source,
      etag: `"${Bun.hash(source).toString(36)}"`,
      gzipBytes: gzipSync(source, { level: 9 }).length,
    }
  })()
  return built
}
