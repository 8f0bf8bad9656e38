/**
 * The dashboard's own "right now" aggregates, folded from the rows of freshly committed Silver files. Pure: no
 * IO, no clock (every read takes `now`), so specs can drive it and compare it with DuckDB over the same Silver.
 */

export const MINUTE = 60_000
export const SECOND = 1_000
/** How much history the state keeps: the page shows an hour; active sessions look 5 minutes further back. */
const KEEP_MS = 70 * MINUTE

export const floorMinute = (ms: number) => Math.floor(ms / MINUTE) * MINUTE

export interface EventRow {
  readonly type: string
  readonly sessionId: string
  readonly ts: number
  /** A bot event (contract "Bots"): counted apart, in no other figure. */
  readonly bot?: boolean
  /** page_view only. */
  readonly pageType?: string | null
  readonly sku?: string | null
}

export interface OrderRow {
  /** Whether the order counts in orders and money: human and trusted (contract "Bots", "Trusted orders"). */
  readonly counted?: boolean
  readonly orderId: string
  readonly ts: number
  readonly recordTs: number
  readonly sessionId: string
  readonly userId: string | null
  readonly units: number
  readonly lineCount: number
  /** subtotal - discount */
  readonly netCents: number
  readonly totalCents: number
  readonly paymentMethod: string
  readonly country: string
  readonly device: string
}

export interface OrderItemRow {
  readonly sku: string
  readonly ts: number
  readonly quantity: number
  readonly lineTotalCents: number
}

export interface DlqRow {
  readonly code: string
  readonly message: string
  readonly partition: number
  readonly offset: number
  readonly sourceTs: number
}

interface Minute {
  events: number
  pageViews: number
  addToCarts: number
  checkouts: number
  orders: number
  units: number
  netCents: number
  dlq: number
  bots: number
  sessions: Set<string>
  /** Bumped when `sessions` grows, so active-session counts are recomputed only for minutes that changed. */
  version: number
  productViews: Map<string, number>
  productRevenue: Map<string, { cents: number; units: number }>
}

interface Second {
  events: number
  orders: number
  netCents: number
}

/** One minute of the series the page draws (and `gold/realtime/minute_rollup.parquet` holds). */
export interface MinutePoint {
  readonly minute: number
  readonly events: number
  readonly pageViews: number
  readonly activeSessions: number
  readonly addToCarts: number
  readonly checkouts: number
  readonly orders: number
  readonly units: number
  readonly netCents: number
  readonly dlq: number
  /** Bot events (left out of every other figure). */
  readonly bots: number
  /** Where the numbers came from: the dashboard's own fold of Silver commits, or the gold rollup. */
  readonly source: "live" | "gold" | "none"
}

export interface ProductRank {
  readonly sku: string
  readonly views?: number
  readonly revenueCents?: number
  readonly units?: number
}

const emptyMinute = (): Minute => ({
  events: 0,
  pageViews: 0,
  addToCarts: 0,
  checkouts: 0,
  orders: 0,
  units: 0,
  netCents: 0,
  dlq: 0,
  bots: 0,
  sessions: new Set(),
  version: 0,
  productViews: new Map(),
  productRevenue: new Map(),
})

export class LiveState {
  private readonly minutes = new Map<number, Minute>()
  private readonly seconds = new Map<number, Second>()
  private orders: Array<OrderRow> = []
  private dlqRows: Array<DlqRow> = []
  /** Records the stream processor took in, by the minute of their batch's newest record timestamp. */
  private readonly recordsIn = new Map<number, number>()
  private readonly activeCache = new Map<number, { key: string; count: number }>()
  newestEventTs: number | null = null
  ordersSeen = 0
  /** False while the commits from before the start are still being folded in: nothing is complete yet. */
  ready = false

  /**
   * @param liveFrom the first minute whose events all reach this state: events are accepted up to 5 minutes
   *   after their record timestamp, so with commits read from record time T on, minutes from T + 5 min are complete.
   */
  constructor(
    readonly liveFrom: number,
    private readonly keepOrders = 500,
  ) {}

  private minute(ts: number, now: number): Minute | undefined {
    if (ts < now - KEEP_MS) return undefined
    const key = floorMinute(ts)
    let m = this.minutes.get(key)
    if (m === undefined) {
      m = emptyMinute()
      this.minutes.set(key, m)
    }
    return m
  }

  private second(ts: number, now: number): Second | undefined {
    if (ts < now - 2 * MINUTE) return undefined
    const key = Math.floor(ts / SECOND) * SECOND
    let s = this.seconds.get(key)
    if (s === undefined) {
      s = { events: 0, orders: 0, netCents: 0 }
      this.seconds.set(key, s)
    }
    return s
  }

  addEvents(rows: ReadonlyArray<EventRow>, now: number): void {
    for (const r of rows) {
      if (this.newestEventTs === null || r.ts > this.newestEventTs) this.newestEventTs = r.ts
      if (r.bot === true) {
        const b = this.minute(r.ts, now)
        if (b !== undefined) b.bots++
        continue
      }
      const sec = this.second(r.ts, now)
      if (sec !== undefined) sec.events++
      const m = this.minute(r.ts, now)
      if (m === undefined) continue
      m.events++
      if (!m.sessions.has(r.sessionId)) {
        m.sessions.add(r.sessionId)
        m.version++
      }
      if (r.type === "page_view") {
        m.pageViews++
        if (r.pageType === "product" && r.sku != null) m.productViews.set(r.sku, (m.productViews.get(r.sku) ?? 0) + 1)
      } else if (r.type === "add_to_cart") m.addToCarts++
      else if (r.type === "checkout_started") m.checkouts++
    }
  }

  addOrders(all: ReadonlyArray<OrderRow>, now: number): void {
    const rows = all.filter((r) => r.counted !== false)
    for (const r of rows) {
      this.ordersSeen++
      const sec = this.second(r.ts, now)
      if (sec !== undefined) {
        sec.orders++
        sec.netCents += r.netCents
      }
      const m = this.minute(r.ts, now)
      if (m !== undefined) {
        m.orders++
        m.units += r.units
        m.netCents += r.netCents
      }
    }
    this.orders = [...this.orders, ...rows]
      .sort((a, b) => b.ts - a.ts || (a.orderId < b.orderId ? -1 : 1))
      .slice(0, this.keepOrders)
  }

  addOrderItems(rows: ReadonlyArray<OrderItemRow>, now: number): void {
    for (const r of rows) {
      const m = this.minute(r.ts, now)
      if (m === undefined) continue
      const p = m.productRevenue.get(r.sku) ?? { cents: 0, units: 0 }
      p.cents += r.lineTotalCents
      p.units += r.quantity
      m.productRevenue.set(r.sku, p)
    }
  }

  addDlq(rows: ReadonlyArray<DlqRow>, now: number): void {
    for (const r of rows) {
      const m = this.minute(r.sourceTs, now)
      if (m !== undefined) m.dlq++
    }
    this.dlqRows = [...this.dlqRows, ...rows].sort((a, b) => b.sourceTs - a.sourceTs).slice(0, 50)
  }

  addRecordsIn(records: number, maxRecordTs: number, now: number): void {
    if (maxRecordTs < now - KEEP_MS) return
    const key = floorMinute(maxRecordTs)
    this.recordsIn.set(key, (this.recordsIn.get(key) ?? 0) + records)
  }

  /** Drops what is older than the page shows. */
  prune(now: number): void {
    for (const k of this.minutes.keys()) if (k < now - KEEP_MS) this.minutes.delete(k)
    for (const k of this.activeCache.keys()) if (k < now - KEEP_MS) this.activeCache.delete(k)
    for (const k of this.recordsIn.keys()) if (k < now - KEEP_MS) this.recordsIn.delete(k)
    for (const k of this.seconds.keys()) if (k < now - 2 * MINUTE) this.seconds.delete(k)
  }

  /** Whether every event of minutes `from` onwards has reached this state. */
  covers(from: number): boolean {
    return this.ready && from >= this.liveFrom
  }

  /** The minute series ending with the current minute; minutes this state does not cover come from `gold`. */
  series(now: number, count: number, gold: ReadonlyMap<number, Omit<MinutePoint, "source">>): Array<MinutePoint> {
    const last = floorMinute(now)
    const out: Array<MinutePoint> = []
    for (let minute = last - (count - 1) * MINUTE; minute <= last; minute += MINUTE) {
      // Active sessions need the four minutes before too.
      if (this.covers(minute - 4 * MINUTE)) out.push(this.point(minute))
      else {
        const g = gold.get(minute)
        if (g !== undefined) out.push({ ...g, source: "gold" })
        else if (this.covers(minute)) out.push(this.point(minute))
        else out.push({ ...this.point(minute), source: "none" })
      }
    }
    return out
  }

  private point(minute: number): MinutePoint {
    const m = this.minutes.get(minute) ?? emptyMinute()
    return {
      minute,
      events: m.events,
      pageViews: m.pageViews,
      activeSessions: this.activeSessions(minute),
      addToCarts: m.addToCarts,
      checkouts: m.checkouts,
      orders: m.orders,
      units: m.units,
      netCents: m.netCents,
      dlq: m.dlq,
      bots: m.bots,
      source: "live",
    }
  }

  /** Distinct sessions with an event in this minute or the four before it. */
  private activeSessions(minute: number): number {
    const window: Array<Minute> = []
    let key = ""
    for (let k = minute - 4 * MINUTE; k <= minute; k += MINUTE) {
      const m = this.minutes.get(k)
      if (m === undefined) continue
      window.push(m)
      key += `${k}:${m.version},`
    }
    const cached = this.activeCache.get(minute)
    if (cached !== undefined && cached.key === key) return cached.count
    const active = new Set<string>()
    for (const m of window) for (const s of m.sessions) active.add(s)
    this.activeCache.set(minute, { key, count: active.size })
    return active.size
  }

  /** Events, orders and net revenue with `event_ts` in the 60 whole seconds up to and including now's second. */
  lastSixtySeconds(now: number) {
    const to = Math.floor(now / SECOND) * SECOND
    const from = to - 59 * SECOND
    let events = 0
    let orders = 0
    let netCents = 0
    for (const [k, s] of this.seconds) {
      if (k < from || k > to) continue
      events += s.events
      orders += s.orders
      netCents += s.netCents
    }
    return { from, to: to + SECOND, events, orders, netCents, complete: this.covers(floorMinute(from)) }
  }

  /** Top 10 products by views and by revenue over the `windowMinutes` minutes ending with now's minute. */
  topProducts(now: number, windowMinutes: number) {
    const last = floorMinute(now)
    const first = last - (windowMinutes - 1) * MINUTE
    const views = new Map<string, number>()
    const revenue = new Map<string, { cents: number; units: number }>()
    for (let k = first; k <= last; k += MINUTE) {
      const m = this.minutes.get(k)
      if (m === undefined) continue
      for (const [sku, n] of m.productViews) views.set(sku, (views.get(sku) ?? 0) + n)
      for (const [sku, r] of m.productRevenue) {
        const p = revenue.get(sku) ?? { cents: 0, units: 0 }
        p.cents += r.cents
        p.units += r.units
        revenue.set(sku, p)
      }
    }
    const bySku = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
    return {
      from: first,
      complete: this.covers(first),
      byViews: [...views]
        .sort((a, b) => b[1] - a[1] || bySku(a[0], b[0]))
        .slice(0, 10)
        .map(([sku, v]): ProductRank => ({ sku, views: v })),
      byRevenue: [...revenue]
        .sort((a, b) => b[1].cents - a[1].cents || bySku(a[0], b[0]))
        .slice(0, 10)
        .map(([sku, r]): ProductRank => ({ sku, revenueCents: r.cents, units: r.units })),
    }
  }

  recentOrders(limit: number): ReadonlyArray<OrderRow> {
    return this.orders.slice(0, limit)
  }

  recentDlq(limit: number): ReadonlyArray<DlqRow> {
    return this.dlqRows.slice(0, limit)
  }

  /** DLQ records over records taken in, in the last `minutes` minutes (by record time). */
  dlqRate(now: number, minutes: number) {
    const from = floorMinute(now) - (minutes - 1) * MINUTE
    let records = 0
    let dlq = 0
    for (const [k, n] of this.recordsIn) if (k >= from) records += n
    for (const [k, m] of this.minutes) if (k >= from) dlq += m.dlq
    return { minutes, records, dlq, rate: records === 0 ? 0 : dlq / records }
  }
}
