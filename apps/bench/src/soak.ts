import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import type { StreamMetricsSnapshot } from "@shop/stream"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { type Figure, report, watchPeakRss } from "./report.ts"

const ROOT = resolve(import.meta.dir, "../../..")

export interface SoakOptions {
  readonly eps: number
  readonly seconds: number
  readonly sampleSeconds: number
}

export interface SoakSample {
  readonly atSeconds: number
  readonly rssMb: number
  readonly recordsIn: number
  readonly lag: number
  readonly dedupIds: number
}

const readMetrics = (dataDir: string): StreamMetricsSnapshot | undefined => {
  const path = join(dataDir, "_metrics", "stream.json")
  try {
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as StreamMetricsSnapshot) : undefined
  } catch {
    return undefined // replaced mid-read; the next sample will do
  }
}

/**
 * Sustained load: the generator paced at `eps` and the stream processor as two processes on the embedded
 * broker, for `seconds`. Samples the processor's RSS, records in, lag and dedup set size every `sampleSeconds`.
 */
export const runSoak = (options: SoakOptions) =>
  Effect.promise(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "bench-soak-"))
    try {
      const env = { ...process.env, DATA_DIR: dataDir }
      const generator = Bun.spawn(
        ["bun", "apps/generator/src/main.ts", "--eps", String(options.eps), "--duration", `${options.seconds}s`],
        { cwd: ROOT, env, stdout: "ignore", stderr: "pipe" },
      )
      const stream = Bun.spawn(["bun", "apps/stream/src/main.ts"], { cwd: ROOT, env, stdout: "ignore", stderr: "pipe" })
      const streamRss = watchPeakRss(stream.pid)
      const samples: Array<SoakSample> = []
      const t0 = performance.now()
      const sample = () => {
        const m = readMetrics(dataDir)
        const s: SoakSample = {
          atSeconds: Math.round((performance.now() - t0) / 1000),
          rssMb: streamRss.rssMb(),
          recordsIn: m?.recordsIn ?? 0,
          lag: m?.partitions.reduce((a, p) => a + p.lag, 0) ?? 0,
          dedupIds: m?.dedupIds ?? 0,
        }
        samples.push(s)
        process.stderr.write(
          `  ${String(s.atSeconds).padStart(4)} s  RSS ${s.rssMb.toFixed(0).padStart(4)} MB  in ${s.recordsIn.toLocaleString("en-US").padStart(10)}  lag ${s.lag}  dedup ids ${s.dedupIds.toLocaleString("en-US")}\n`,
        )
      }
      const timer = setInterval(sample, options.sampleSeconds * 1000)
      const generatorCode = await generator.exited
      // Let the processor catch up with the last records before stopping it.
      await Bun.sleep(3_000)
      clearInterval(timer)
      sample()
      stream.kill("SIGINT")
      const streamCode = await stream.exited
      const peak = streamRss.stop()
      if (generatorCode !== 0)
        throw new Error(`generator exited ${generatorCode}: ${await new Response(generator.stderr).text()}`)
      if (streamCode !== 0)
        throw new Error(`stream exited ${streamCode}: ${(await new Response(stream.stderr).text()).slice(-2000)}`)
      return { samples, peakRssMb: peak, elapsedSeconds: (performance.now() - t0) / 1000 }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

export const soakFigures = (options: SoakOptions) =>
  Effect.gen(function* () {
    process.stderr.write(
      `soak: ${options.eps} events/s for ${options.seconds} s (generator and stream processor, embedded broker)\n`,
    )
    const result = yield* runSoak(options)
    const last = result.samples.at(-1)!
    const lags = result.samples.slice(1, -1).map((s) => s.lag)
    const curve = result.samples.map((s) => `${s.atSeconds}s:${Math.round(s.rssMb)}MB`).join(" ")
    const figures: Array<Figure> = [
      { name: `soak ${options.eps} eps: records processed`, value: last.recordsIn, unit: "records" },
      {
        name: `soak ${options.eps} eps: sustained rate`,
        value: last.recordsIn / options.seconds,
        unit: "records/s",
      },
      { name: `soak ${options.eps} eps: processor peak RSS`, value: result.peakRssMb, unit: "MB" },
      { name: `soak ${options.eps} eps: processor RSS at the end`, value: last.rssMb, unit: "MB" },
      { name: `soak ${options.eps} eps: max lag while running`, value: Math.max(0, ...lags), unit: "records" },
      { name: `soak ${options.eps} eps: dedup ids held at the end`, value: last.dedupIds, unit: "ids" },
    ]
    return { figures, curve, samples: result.samples }
  })

/** Memory under sustained load: processor RSS at 10k events/s for 10 minutes (target < 300 MB), as a curve. */
export const soakBench = Command.make(
  "soak",
  {
    eps: Flag.Int("eps").pipe(Flag.withDescription("Generator events/s"), Flag.withDefault(10_000)),
    seconds: Flag.Int("seconds").pipe(Flag.withDescription("How long"), Flag.withDefault(600)),
    sampleSeconds: Flag.Int("sample-seconds").pipe(Flag.withDescription("RSS sample period"), Flag.withDefault(30)),
  },
  (options) =>
    Effect.gen(function* () {
      const { figures, curve, samples } = yield* soakFigures(options)
      console.log(`\nRSS curve (processor): ${curve}`)
      report("soak", figures, { ...options, samples })
    }),
).pipe(Command.withDescription("Stream processor memory and lag at a sustained rate (target: RSS < 300 MB at 10k eps)"))
