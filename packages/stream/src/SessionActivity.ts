import { BOT_RATE_LIMIT, rateKey } from "@shop/contract"

/**
 * The bot rate rule's state (docs/contract/events-v1.md, "Bots"): how many Silver events each session has in
 * each UTC minute of event_ts, by event date. Derived from the data only: a day is filled from Silver's
 * committed rows when the deduplicator loads it (SilverIds), and grows as batches commit, so a restart or a
 * replay counts exactly what it counted before. Days evicted from the deduplicator are dropped here too.
 */
export class SessionActivity {
  private readonly days = new Map<string, Map<string, number>>()

  /** Silver's events already committed (loaded days, other workers' batches, this process's own commits). */
  add(date: string, key: string): void {
    let day = this.days.get(date)
    if (day === undefined) {
      day = new Map()
      this.days.set(date, day)
    }
    day.set(key, (day.get(key) ?? 0) + 1)
  }

  count(date: string, key: string): number {
    return this.days.get(date)?.get(key) ?? 0
  }

  /** Keeps only the days `loaded` says are still loaded. */
  keep(loaded: (date: string) => boolean): void {
    for (const d of this.days.keys()) if (!loaded(d)) this.days.delete(d)
  }

  /** Forgets a day before it is loaded again from Silver. */
  drop(date: string): void {
    this.days.delete(date)
  }
}

/**
 * The bot verdicts of one batch, judged on top of what Silver holds: the events of the batch are counted in
 * record order, so the same records give the same verdicts however they are cut into batches.
 */
export class BatchActivity {
  private readonly pending = new Map<string, number>()
  readonly added: Array<readonly [string, string]> = []

  constructor(private readonly committed: SessionActivity) {}

  /** Counts the event and says whether it is past the rate limit. */
  overLimit(date: string, sessionId: string, eventTsMs: number): boolean {
    // The key's UTC minute fixes its date: the batch's own counts need no date in their key.
    const key = rateKey(sessionId, eventTsMs)
    const n = (this.pending.get(key) ?? 0) + 1
    this.pending.set(key, n)
    this.added.push([date, key])
    return this.committed.count(date, key) + n > BOT_RATE_LIMIT
  }
}
