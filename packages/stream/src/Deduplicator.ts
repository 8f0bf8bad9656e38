import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { DEFAULT_MAX_LATENESS_MS } from "@shop/contract"
import { IdRun, sortIds } from "./IdRun.ts"

const DAY = 86_400_000
const dayOf = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY
const MAX_LOAD = 0.6

export interface DeduplicatorOptions {
  /** Where run files go (a directory this instance owns); absent: everything stays in memory. */
  readonly spillDir?: string
  /** Ids kept in the in-memory table before they are spilled to a run (default 500,000: ~18 MB). */
  readonly hotLimit?: number
}

/**
 * The event_ids Silver already holds, so each event lands at most once however late its second copy comes.
 * Ids are UUIDs (the contract checks it), kept exactly as their 16 bytes in an open-addressing table with the
 * day of each id: about 30 bytes an id instead of ~100 for a Map of strings. Ids of days older than
 * MAX_LATENESS (plus a day) are forgotten: a copy that old is rejected as too_late anyway.
 *
 * With a `spillDir`, memory stays bounded under sustained load: once the in-memory table holds `hotLimit` ids
 * they are written, sorted, to a run file there and kept in memory only as a Bloom filter (~1.25 bytes an id;
 * see IdRun). Still exact: a "maybe" from a filter is settled by a binary search in the file. The runs are a
 * cache of what Silver holds (rebuilt from Silver by seedDeduplicator at every start), so they need no
 * crash protocol of their own. Runs are not merged yet: each adds one filter check per new id (a run per
 * `hotLimit` ids), negligible at a shop's traffic, but it adds up over days at thousands of events/s.
 */
export class Deduplicator {
  private words = new Uint32Array(0)
  /** Day number + 1 of each slot; 0 marks an empty slot. */
  private days = new Uint16Array(0)
  private count = 0
  private horizonDay = Number.NEGATIVE_INFINITY
  private runs: Array<IdRun> = []
  private runSeq = 0
  private readonly hotLimit: number

  constructor(
    private readonly maxLatenessMs = DEFAULT_MAX_LATENESS_MS,
    private readonly options: DeduplicatorOptions = {},
  ) {
    this.hotLimit = options.hotLimit ?? 500_000
    if (options.spillDir !== undefined) mkdirSync(options.spillDir, { recursive: true })
    this.allocate(1 << 16)
  }

  /** Ids remembered, in memory and in runs. */
  get size(): number {
    return this.runs.reduce((n, r) => n + r.count, this.count)
  }

  /** `eventId` is a lower-case UUID (validate() normalises it). */
  has(eventId: string): boolean {
    const [a, b, c, d] = words(eventId)
    return this.slotOf(a, b, c, d) < 0 || this.inRuns(a, b, c, d)
  }

  add(eventId: string, eventDate: string): void {
    const [a, b, c, d] = words(eventId)
    const slot = this.slotOf(a, b, c, d)
    if (slot < 0 || this.inRuns(a, b, c, d)) return
    this.put(slot, a, b, c, d, dayOf(eventDate) + 1)
    if (++this.count > this.days.length * MAX_LOAD) this.rebuild(this.days.length * 2, Number.NEGATIVE_INFINITY)
    if (this.options.spillDir !== undefined && this.count >= this.hotLimit) this.spill(this.options.spillDir)
  }

  /** Forget ids of days no record stamped `recordTs` or later can still bring. */
  advance(recordTs: number): void {
    const horizon = Math.floor((recordTs - this.maxLatenessMs) / DAY) - 1
    if (horizon <= this.horizonDay) return
    this.horizonDay = horizon
    this.rebuild(this.days.length, horizon)
    // A run goes once its newest day is past the horizon (its older ids may linger until then: still exact).
    for (const run of this.runs.filter((r) => r.maxDay - 1 < horizon)) run.close()
    this.runs = this.runs.filter((r) => r.maxDay - 1 >= horizon)
  }

  /** Closes and deletes the run files. */
  close(): void {
    for (const run of this.runs) run.close()
    this.runs = []
  }

  private inRuns(a: number, b: number, c: number, d: number): boolean {
    for (const run of this.runs) if (run.has(a, b, c, d)) return true
    return false
  }

  /** Moves every in-memory id to a new sorted run file, leaving the table empty. */
  private spill(dir: string): void {
    const ids = new Uint32Array(this.count * 4)
    let n = 0
    let maxDay = 0
    for (let slot = 0; slot < this.days.length; slot++) {
      const day = this.days[slot]!
      if (day === 0) continue
      ids.set(this.words.subarray(slot * 4, slot * 4 + 4), n * 4)
      if (day > maxDay) maxDay = day
      n++
    }
    this.runs.push(new IdRun(join(dir, `run-${++this.runSeq}.ids`), sortIds(ids, n), n, maxDay))
    this.allocate(1 << 16)
  }

  /** The slot holding this id as `-(slot + 1)`, or the free slot where it would go. */
  private slotOf(a: number, b: number, c: number, d: number): number {
    const mask = this.days.length - 1
    // UUIDs are random (v4) or time-ordered (v1/v7) in their first word; mix all four for the probe start.
    let slot = (Math.imul(a ^ c, 0x9e3779b1) ^ Math.imul(b ^ d, 0x85ebca6b)) >>> 0
    for (slot &= mask; this.days[slot] !== 0; slot = (slot + 1) & mask) {
      const w = slot * 4
      if (this.words[w] === a && this.words[w + 1] === b && this.words[w + 2] === c && this.words[w + 3] === d) {
        return -(slot + 1)
      }
    }
    return slot
  }

  private put(slot: number, a: number, b: number, c: number, d: number, day: number): void {
    const w = slot * 4
    this.words[w] = a
    this.words[w + 1] = b
    this.words[w + 2] = c
    this.words[w + 3] = d
    this.days[slot] = day
  }

  private allocate(capacity: number): void {
    this.words = new Uint32Array(capacity * 4)
    this.days = new Uint16Array(capacity)
    this.count = 0
  }

  /** Re-inserts every id of a day after `horizon` into a table of `capacity` slots. */
  private rebuild(capacity: number, horizon: number): void {
    const oldWords = this.words
    const oldDays = this.days
    this.allocate(capacity)
    for (let slot = 0; slot < oldDays.length; slot++) {
      const day = oldDays[slot]!
      if (day === 0 || day - 1 < horizon) continue
      const w = slot * 4
      const a = oldWords[w]!
      const b = oldWords[w + 1]!
      const c = oldWords[w + 2]!
      const d = oldWords[w + 3]!
      this.put(this.slotOf(a, b, c, d), a, b, c, d, day)
      this.count++
    }
  }
}

/** The 128 bits of a UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as four 32-bit words. */
const words = (uuid: string): [number, number, number, number] => [
  Number.parseInt(uuid.slice(0, 8), 16),
  Number.parseInt(uuid.slice(9, 13) + uuid.slice(14, 18), 16),
  Number.parseInt(uuid.slice(19, 23) + uuid.slice(24, 28), 16),
  Number.parseInt(uuid.slice(28, 36), 16),
]
