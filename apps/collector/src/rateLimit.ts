/** Requests per second per client, and how many may come at once. */
export interface RateLimit {
  /** Sustained requests per second per client IP; 0 turns the limit off. */
  readonly perSecond: number
  /** Requests a client may send in a burst before the sustained rate applies. */
  readonly burst: number
}

/** Past this many clients, buckets that have refilled completely (idle clients) are dropped. */
const MAX_CLIENTS = 50_000

/**
 * A token bucket per client IP, written by hand: no maintained rate-limit library fits `Bun.serve` without a
 * framework, and this is a dozen lines. Memory is bounded: idle clients' buckets are swept when the table grows.
 */
export class ClientRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token for `client`: 0 when allowed, else the seconds to wait before the next request. */
  take(client: string): number {
    const { perSecond, burst } = this.limit
    if (perSecond <= 0) return 0
    const now = this.now()
    let bucket = this.buckets.get(client)
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_CLIENTS) this.sweep(now)
      bucket = { tokens: burst, at: now }
      this.buckets.set(client, bucket)
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond)
      bucket.at = now
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) / perSecond)
  }

  get clients(): number {
    return this.buckets.size
  }

  private sweep(now: number) {
    const { perSecond, burst } = this.limit
    for (const [client, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.buckets.delete(client)
    }
    // Still full of active clients (a flood of spoofed sources): forget the oldest half rather than grow.
    if (this.buckets.size >= MAX_CLIENTS) {
      let drop = this.buckets.size / 2
      for (const client of this.buckets.keys()) {
        if (drop-- <= 0) break
        this.buckets.delete(client)
      }
    }
  }
}
