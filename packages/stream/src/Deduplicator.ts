import { DEFAULT_MAX_LATENESS_MS } from "@shop/contract"

const DAY = 86_400_000
const dayOf = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY
const MAX_LOAD = 0.6

/**
 * The event_ids Silver already holds, so each event lands at most once however late its second copy comes.
 * Ids are UUIDs (the contract checks it), kept exactly as their 16 bytes in an open-addressing table with the
 * day of each id: about 30 bytes an id instead of ~100 for a Map of strings. Ids of days older than
 * MAX_LATENESS (plus a day) are forgotten: a copy that old is rejected as too_late anyway.
 */
export class Deduplicator {
  private words = new Uint32Array(0)
  /** Day number + 1 of each slot; 0 marks an empty slot. */
  private days = new Uint16Array(0)
  private count = 0
  private horizonDay = Number.NEGATIVE_INFINITY

  constructor(private readonly maxLatenessMs = DEFAULT_MAX_LATENESS_MS) {
    this.allocate(1 << 16)
  }

  get size(): number {
    return this.count
  }

  /** `eventId` is a lower-case UUID (validate() normalises it). */
  has(eventId: string): boolean {
    const [a, b, c, d] = words(eventId)
    return this.slotOf(a, b, c, d) < 0
  }

  add(eventId: string, eventDate: string): void {
    const [a, b, c, d] = words(eventId)
    const slot = this.slotOf(a, b, c, d)
    if (slot < 0) return
    this.put(slot, a, b, c, d, dayOf(eventDate) + 1)
    if (++this.count > this.days.length * MAX_LOAD) this.rebuild(this.days.length * 2, Number.NEGATIVE_INFINITY)
  }

  /** Forget ids of days no record stamped `recordTs` or later can still bring. */
  advance(recordTs: number): void {
    const horizon = Math.floor((recordTs - this.maxLatenessMs) / DAY) - 1
    if (horizon <= this.horizonDay) return
    this.horizonDay = horizon
    this.rebuild(this.days.length, horizon)
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
