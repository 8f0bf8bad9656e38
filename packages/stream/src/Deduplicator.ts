import { DEFAULT_MAX_LATENESS_MS } from "@shop/contract"

const DAY = 86_400_000
const dayOf = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY

/**
 * The event_ids Silver already holds, so each event lands at most once however late its second copy comes.
 * Ids older than MAX_LATENESS (plus a day) are forgotten: a copy that old is rejected as too_late anyway, so
 * memory stays bounded by about a month of events.
 */
export class Deduplicator {
  private readonly seen = new Map<string, number>()
  private horizonDay = Number.NEGATIVE_INFINITY

  constructor(private readonly maxLatenessMs = DEFAULT_MAX_LATENESS_MS) {}

  get size(): number {
    return this.seen.size
  }

  has(eventId: string): boolean {
    return this.seen.has(eventId)
  }

  add(eventId: string, eventDate: string): void {
    this.seen.set(eventId, dayOf(eventDate))
  }

  /** Forget ids of days no record stamped `recordTs` or later can still bring. */
  advance(recordTs: number): void {
    const horizon = Math.floor((recordTs - this.maxLatenessMs) / DAY) - 1
    if (horizon <= this.horizonDay) return
    this.horizonDay = horizon
    for (const [id, day] of this.seen) if (day < horizon) this.seen.delete(id)
  }
}
