import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { writeFileDurably } from "@shop/fsio"
import type { BatchCounts } from "@shop/lake"

/** The processor's own numbers: logged periodically and written to `$DATA_DIR/_metrics/stream.json`. */
export interface StreamMetricsSnapshot {
  /**
   * Since the lake began, over every run and every worker: summed from the counts each batch's commit-log
   * entry carries, so they survive restarts and agree whichever worker writes this file. The other figures
   * are this process's since it started.
   */
  readonly totals: BatchCounts
  readonly startedAt: string
  readonly updatedAt: string
  readonly recordsIn: number
  readonly silverRows: Record<string, number>
  readonly duplicates: number
  readonly dlq: Record<string, number>
  readonly batches: number
  readonly batchMs: { readonly last: number; readonly p50: number; readonly p95: number; readonly max: number }
  /** Per partition: next offset committed to the lake, broker end offset, and their difference. */
  readonly partitions: ReadonlyArray<{ partition: number; committed: number; end: number; lag: number }>
  readonly newestEventTs: string | null
  readonly dedupIds: number
  /**
   * The lake's exclusive commit lock (cross-worker exactness): times taken, ms waited for it and ms held, by
   * this process since it started. Each batch takes it twice (catch up and load days; catch up and publish).
   */
  readonly commitLock: { readonly taken: number; readonly waitMs: number; readonly heldMs: number }
}

export class StreamMetrics {
  private readonly startedAt = new Date().toISOString()
  recordsIn = 0
  readonly silverRows: Record<string, number> = {}
  duplicates = 0
  readonly dlq: Record<string, number> = {}
  batches = 0
  private readonly batchDurations: Array<number> = []
  partitions: Array<{ partition: number; committed: number; end: number; lag: number }> = []
  newestEventTs: number | null = null
  dedupIds = 0
  readonly commitLock = { taken: 0, waitMs: 0, heldMs: 0 }
  totals: BatchCounts = { records: 0, silver: {}, duplicates: 0, dlq: {} }

  addBatch(counts: {
    records: number
    silver: Record<string, number>
    duplicates: number
    dlq: Record<string, number>
  }) {
    this.recordsIn += counts.records
    this.duplicates += counts.duplicates
    for (const [k, v] of Object.entries(counts.silver)) this.silverRows[k] = (this.silverRows[k] ?? 0) + v
    for (const [k, v] of Object.entries(counts.dlq)) this.dlq[k] = (this.dlq[k] ?? 0) + v
  }

  /** Told every batch duration (ms), e.g. by a Prometheus histogram. */
  onBatchDone: ((ms: number) => void) | undefined

  batchDone(ms: number) {
    this.onBatchDone?.(ms)
    this.batches++
    this.batchDurations.push(ms)
    if (this.batchDurations.length > 500) this.batchDurations.shift()
  }

  snapshot(): StreamMetricsSnapshot {
    const sorted = [...this.batchDurations].sort((a, b) => a - b)
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
    return {
      totals: this.totals,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      recordsIn: this.recordsIn,
      silverRows: { ...this.silverRows },
      duplicates: this.duplicates,
      dlq: { ...this.dlq },
      batches: this.batches,
      batchMs: { last: this.batchDurations.at(-1) ?? 0, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0 },
      partitions: this.partitions,
      newestEventTs: this.newestEventTs === null ? null : new Date(this.newestEventTs).toISOString(),
      dedupIds: this.dedupIds,
      commitLock: { ...this.commitLock },
    }
  }

  /**
   * Replaces the metrics file atomically, so a reader never sees half of it: written whole and size-checked
   * before the rename (not fsynced: it is rewritten every batch and nothing depends on it after a crash).
   * A full disk throws an FsWriteError (code ENOSPC) whose message says what to do.
   */
  writeTo(path: string): void {
    mkdirSync(dirname(path), { recursive: true })
    writeFileDurably(path, JSON.stringify(this.snapshot(), null, 2), { fsync: false })
  }

  summary(): string {
    const silver = Object.values(this.silverRows).reduce((a, b) => a + b, 0)
    const dlq = Object.values(this.dlq).reduce((a, b) => a + b, 0)
    const lag = this.partitions.reduce((a, p) => a + p.lag, 0)
    const l = this.commitLock
    return (
      `in ${this.recordsIn}, silver ${silver}, duplicates ${this.duplicates}, dlq ${dlq}, batches ${this.batches}, lag ${lag}` +
      `, commit lock ${l.taken} times: waited ${Math.round(l.waitMs)} ms, held ${Math.round(l.heldMs)} ms`
    )
  }
}
