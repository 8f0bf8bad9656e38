import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { IdRun, sortIds } from "./IdRun.ts"

const DAY = 86_400_000
/** Days are stored biased so that 0 marks an empty slot and every date from 0000-01-01 on is positive. */
const DAY_BIAS = 1_000_000
const dayOf = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY + DAY_BIAS
const MAX_LOAD = 0.6

export interface DeduplicatorOptions {
  /** Where run files go (a directory this instance owns); absent: everything stays in memory. */
  readonly spillDir?: string
  /** Ids kept in the in-memory table before they are spilled to a run (default 500,000: ~18 MB). */
  readonly hotLimit?: number
  /** Event dates whose ids stay in memory; the least recently used beyond it are evicted (default 40). */
  readonly maxLoadedDays?: number
}

/**
 * The event_ids Silver already holds, by event date, so each event lands at most once however late its
 * second copy comes and whatever the record timestamps say. Ids are UUIDs (the contract checks it), kept
 * exactly as their 16 bytes in an open-addressing table with the day of each id: about 30 bytes an id.
 *
 * Days are loaded, not guessed: a day is either loaded (every id Silver holds for that event date is here) or
 * not, and the processor loads a day from Silver (`needs`, `markLoaded`) before it asks about an event of that
 * date. Nothing is forgotten by time: once more than `maxLoadedDays` days are loaded, the least recently used
 * ones are evicted, and loaded again from Silver if an event of that date ever comes back. So one record
 * stamped 9999-12-31 or 45 days ago changes what is in memory, never the answer.
 *
 * With a `spillDir`, memory stays bounded under sustained load: once the in-memory table holds `hotLimit` ids
 * they are written, sorted, to a run file there and kept in memory only as a Bloom filter (~1.25 bytes an id;
 * see IdRun). Still exact: a "maybe" from a filter is settled by a binary search in the file. A run is deleted
 * once none of its days is loaded. The runs are a cache of Silver, rebuilt as days are loaded after a start.
 */
export class Deduplicator {
  private words = new Uint32Array(0)
  /** Biased day number of each slot; 0 marks an empty slot. */
  private days = new Uint32Array(0)
  private count = 0
  private runs: Array<{ readonly run: IdRun; readonly days: ReadonlySet<number> }> = []
  private runSeq = 0
  private readonly hotLimit: number
  private readonly maxLoadedDays: number
  /** Loaded days (biased) and when each was last used (a use counter). */
  private readonly loaded = new Map<number, number>()
  private uses = 0

  constructor(private readonly options: DeduplicatorOptions = {}) {
    this.hotLimit = options.hotLimit ?? 500_000
    this.maxLoadedDays = options.maxLoadedDays ?? 40
    if (options.spillDir !== undefined) mkdirSync(options.spillDir, { recursive: true })
    this.allocate(1 << 16)
  }

  /** Of these event dates, the ones not loaded yet (to load from Silver before asking about them). */
  needs(dates: Iterable<string>): Array<string> {
    const out: Array<string> = []
    for (const date of new Set(dates)) {
      const day = dayOf(date)
      if (this.loaded.has(day)) this.loaded.set(day, ++this.uses)
      else out.push(date)
    }
    return out
  }

  /** Every id Silver holds for `date` has been added: `has` may now be asked about events of that date. */
  markLoaded(date: string): void {
    this.loaded.set(dayOf(date), ++this.uses)
  }

  isLoaded(date: string): boolean {
    return this.loaded.has(dayOf(date))
  }

  /** Evicts the least recently used days beyond `maxLoadedDays` (they can be loaded again). */
  evictIdleDays(): void {
    if (this.loaded.size <= this.maxLoadedDays) return
    const byUse = [...this.loaded].sort((a, b) => a[1] - b[1])
    for (const [day] of byUse.slice(0, this.loaded.size - this.maxLoadedDays)) this.loaded.delete(day)
    this.rebuild(this.days.length, (day) => this.loaded.has(day))
    for (const r of this.runs.filter((r) => ![...r.days].some((d) => this.loaded.has(d)))) r.run.close()
    this.runs = this.runs.filter((r) => [...r.days].some((d) => this.loaded.has(d)))
  }

  get loadedDays(): number {
    return this.loaded.size
  }

  /** Ids remembered, in memory and in runs. */
  get size(): number {
    return this.runs.reduce((n, r) => n + r.run.count, this.count)
  }

  /** `eventId` is a lower-case UUID (validate() normalises it), of an event whose date is loaded. */
  has(eventId: string): boolean {
    const [a, b, c, d] = words(eventId)
    return this.slotOf(a, b, c, d) < 0 || this.inRuns(a, b, c, d)
  }

  add(eventId: string, eventDate: string): void {
    const [a, b, c, d] = words(eventId)
    const slot = this.slotOf(a, b, c, d)
    if (slot < 0 || this.inRuns(a, b, c, d)) return
    this.put(slot, a, b, c, d, dayOf(eventDate))
    if (++this.count > this.days.length * MAX_LOAD) this.rebuild(this.days.length * 2, () => true)
    if (this.options.spillDir !== undefined && this.count >= this.hotLimit) this.spill(this.options.spillDir)
  }

  /** Closes and deletes the run files. */
  close(): void {
    for (const r of this.runs) r.run.close()
    this.runs = []
  }

  private inRuns(a: number, b: number, c: number, d: number): boolean {
    for (const r of this.runs) if (r.run.has(a, b, c, d)) return true
    return false
  }

  /** Moves every in-memory id to a new sorted run file, leaving the table empty. */
  private spill(dir: string): void {
    const ids = new Uint32Array(this.count * 4)
    let n = 0
    const days = new Set<number>()
    for (let slot = 0; slot < this.days.length; slot++) {
      const day = this.days[slot]!
      if (day === 0) continue
      ids.set(this.words.subarray(slot * 4, slot * 4 + 4), n * 4)
      days.add(day)
      n++
    }
    this.runs.push({ run: new IdRun(join(dir, `run-${++this.runSeq}.ids`), sortIds(ids, n), n), days })
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
    this.days = new Uint32Array(capacity)
    this.count = 0
  }

  /** Re-inserts every id of a day that `keep`s into a table of `capacity` slots. */
  private rebuild(capacity: number, keep: (day: number) => boolean): void {
    const oldWords = this.words
    const oldDays = this.days
    this.allocate(capacity)
    for (let slot = 0; slot < oldDays.length; slot++) {
      const day = oldDays[slot]!
      if (day === 0 || !keep(day)) continue
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

/** Value of each hex digit by char code (both cases), 255 for anything else. */
const HEX = (() => {
  const t = new Uint8Array(256).fill(255)
  for (let i = 0; i < 16; i++) {
    t["0123456789abcdef".charCodeAt(i)] = i
    t["0123456789ABCDEF".charCodeAt(i)] = i
  }
  return t
})()

/** Eight hex digits of `s` from `at`, skipping the dash at `skip` (or -1), as an unsigned 32-bit word. */
const word = (s: string, at: number, skip: number): number => {
  let w = 0
  for (let i = at, n = 0; n < 8; i++) {
    if (i === skip) continue
    const v = HEX[s.charCodeAt(i) & 0xff]!
    if (v === 255) return Number.NaN
    w = (w << 4) | v
    n++
  }
  return w >>> 0
}

/**
 * The 128 bits of a UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as four 32-bit words (hex read by table: this
 * runs for every event and every id loaded from Silver; parseInt on slices cost a tenth of the processor).
 */
const words = (uuid: string): [number, number, number, number] => {
  const out: [number, number, number, number] = [
    word(uuid, 0, -1),
    word(uuid, 9, 13),
    word(uuid, 19, 23),
    word(uuid, 28, -1),
  ]
  // Not a UUID's shape (the contract admits no other ids; this keeps the old parse's answer for odd input).
  if (uuid.length !== 36 || Number.isNaN(out[0] + out[1] + out[2] + out[3])) return slowWords(uuid)
  return out
}

const slowWords = (uuid: string): [number, number, number, number] => [
  Number.parseInt(uuid.slice(0, 8), 16),
  Number.parseInt(uuid.slice(9, 13) + uuid.slice(14, 18), 16),
  Number.parseInt(uuid.slice(19, 23) + uuid.slice(24, 28), 16),
  Number.parseInt(uuid.slice(28, 36), 16),
]
