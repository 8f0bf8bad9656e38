import type { BrokerError } from "@shop/broker"
import { Clock, Effect } from "effect"
import { type EventStreamOptions, type GeneratedRecord, makeEventStream } from "./EventStream.ts"
import { emptyStats, type GeneratorStats, sumDlq } from "./GeneratorStats.ts"
import type { CollectorError, Sink } from "./sinks.ts"

export interface GeneratorOptions {
  readonly seed: number
  /** Live: events per second, paced. Backfill: average rate over the simulated days. */
  readonly eps: number
  readonly badRate: number
  readonly dupRate: number
  readonly lateRate: number
  readonly botRate?: number
  /** Stop after this many records. */
  readonly maxEvents?: number | undefined
  /** Live: stop after this long (ms). */
  readonly durationMs?: number | undefined
  /** Backfill: generate this many days of history ending at `end`, as fast as possible. */
  readonly backfillDays?: number | undefined
  /** End of the backfill window (epoch ms; default now). */
  readonly end?: number | undefined
  readonly catalog?: EventStreamOptions["catalog"]
  /** Log a progress line every `progressEveryMs` (Effect.log, component `generator`). */
  readonly progress?: boolean
  /** How often the progress line comes (default 2 s). */
  readonly progressEveryMs?: number
  /** Backfill: after each batch, how much of the window is done (0..1) and the stats so far. */
  readonly onBackfillProgress?: (fraction: number, stats: GeneratorStats) => void
}

const TICK_MS = 50
const BACKFILL_BATCH = 5_000

/** 12,345/s; a small shop's rate keeps its decimals (0.05/s, not 0/s). */
const rate = (perSecond: number) =>
  perSecond >= 10 ? Math.round(perSecond).toLocaleString("en-US") : String(Number(perSecond.toFixed(2)))

const progressLine = (stats: GeneratorStats, startedAt: number, label: string) => {
  const seconds = (performance.now() - startedAt) / 1000
  return `${label}: ${stats.records.toLocaleString("en-US")} events, ${rate(stats.records / Math.max(seconds, 0.001))}/s, bad ${sumDlq(stats)}, dup ${stats.duplicates}, late ${stats.late}, ${seconds.toFixed(0)} s`
}

/**
 * Runs the simulated shop into a sink. Live mode paces by count (each 50 ms tick sends what is due at
 * `eps`) and stamps records with the wall clock; backfill writes `backfillDays` of history ending at `end`
 * as fast as the sink takes it, with record timestamps at event time. Interrupting it (Ctrl-C) ends after
 * the batch in flight; the stats say what was sent.
 */
export const runGenerator = (
  options: GeneratorOptions,
  sink: Sink,
  stats: GeneratorStats = emptyStats(),
): Effect.Effect<GeneratorStats, BrokerError | CollectorError> =>
  Effect.gen(function* () {
    const startedAt = performance.now()
    const max = options.maxEvents ?? Number.POSITIVE_INFINITY
    let lastProgress = startedAt
    const report = (label: string) =>
      Effect.suspend(() => {
        if (options.progress !== true || performance.now() - lastProgress < (options.progressEveryMs ?? 2_000)) {
          return Effect.void
        }
        lastProgress = performance.now()
        return Effect.log(progressLine(stats, startedAt, label)).pipe(Effect.annotateLogs("component", "generator"))
      })
    const common = {
      seed: options.seed,
      eps: options.eps,
      badRate: options.badRate,
      dupRate: options.dupRate,
      lateRate: options.lateRate,
      botRate: options.botRate ?? 0,
      ...(options.catalog === undefined ? {} : { catalog: options.catalog }),
    }

    if (options.backfillDays !== undefined) {
      const end = options.end ?? (yield* Clock.currentTimeMillis)
      const start = end - options.backfillDays * 86_400_000
      const stream = makeEventStream({ ...common, start, end, seasonality: true }, stats)
      let done = false
      while (!done) {
        // Taking a batch (which counts it) and writing it is one step that Ctrl-C cannot split.
        yield* Effect.uninterruptible(
          Effect.suspend(() => {
            const batch: Array<GeneratedRecord> = []
            while (batch.length < BACKFILL_BATCH && stats.records < max) {
              const next = stream.next()
              if (next.done) break
              batch.push(next.value)
            }
            done = batch.length < BACKFILL_BATCH
            const last = batch.at(-1)
            return sink
              .write(batch)
              .pipe(
                Effect.tap(() =>
                  Effect.sync(() =>
                    options.onBackfillProgress?.(
                      done || last === undefined
                        ? 1
                        : Math.min(1, Math.max(0, (last.timestamp - start) / (end - start))),
                      stats,
                    ),
                  ),
                ),
              )
          }),
        )
        if (options.onBackfillProgress === undefined) yield* report("backfill")
      }
      return stats
    }

    // Live: virtual time is moved onto the wall clock as each record is taken. The warm-up (up to 10 virtual
    // minutes, at most ~300k events' worth so high rates start quickly) fills the shop with sessions in progress.
    const warmUpMs = Math.min(600_000, (300_000 / options.eps) * 1000)
    const virtualStart = yield* Clock.currentTimeMillis
    const stream = makeEventStream(
      { ...common, start: virtualStart, warmUpUntil: virtualStart + warmUpMs, seasonality: false },
      stats,
      (virtual) => Date.now() - virtual,
    )
    const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + options.durationMs
    let sent = 0
    while (stats.records < max && performance.now() < deadline) {
      const elapsed = (performance.now() - startedAt) / 1000
      const due = Math.min(Math.floor(elapsed * options.eps) - sent, max - stats.records)
      yield* Effect.uninterruptible(
        Effect.suspend(() => {
          const batch: Array<GeneratedRecord> = []
          for (let i = 0; i < due; i++) batch.push(stream.next().value as GeneratedRecord)
          sent += batch.length
          return sink.write(batch)
        }),
      )
      yield* report("generate")
      yield* Effect.sleep(TICK_MS)
    }
    return stats
  }).pipe(Effect.withSpan("runGenerator"))
