import type { LiveState, MinutePoint, OrderRow } from "./LiveState.ts"
import { centsToDecimal } from "./money.ts"

export type Funnel = Record<string, string | number | null>

/** What the page shows, as the JSON API returns it. Money is integer cents plus an exact decimal string. */
export interface Snapshot {
  readonly asOf: number
  readonly summary: ReturnType<typeof buildSummary>
  readonly minutes: ReadonlyArray<MinutePoint & { readonly netRevenue: string }>
  readonly topProducts: ReadonlyArray<TopProducts>
  readonly recentOrders: ReadonlyArray<RecentOrder>
  readonly health: Health
}

export interface RecentOrder extends OrderRow {
  readonly total: string
  readonly netRevenue: string
}

export interface TopProducts {
  readonly windowMinutes: number
  readonly source: "live" | "gold" | "none"
  readonly byViews: ReadonlyArray<{ sku: string; name: string; category: string; views: number }>
  readonly byRevenue: ReadonlyArray<{
    sku: string
    name: string
    category: string
    revenueCents: number
    revenue: string
    units: number
  }>
}

export interface Health {
  readonly lag: {
    readonly total: number | null
    readonly partitions: ReadonlyArray<{ partition: number; committed: number; end: number; lag: number }>
    readonly metricsUpdatedAt: string | null
  }
  readonly newestEventTs: number | null
  /** now - newest Silver event_ts, ms. */
  readonly freshnessMs: number | null
  readonly lastCommitAt: string | null
  readonly dlq: {
    readonly minutes: number
    readonly records: number
    readonly dlq: number
    readonly rate: number
    readonly recent: ReadonlyArray<{ code: string; message: string; partition: number; offset: number; at: number }>
  }
  readonly ingest: {
    readonly commits: number
    readonly files: number
    readonly liveFrom: number
    readonly bootstrapMs: number
    readonly lastIngestMs: number
    readonly unreadable: number
    /** False until the commits from before the start are folded in. */
    readonly ready: boolean
  }
}

export const buildSummary = (
  state: LiveState,
  now: number,
  minutes: ReadonlyArray<MinutePoint>,
  funnel: Funnel | null,
) => {
  const last = state.lastSixtySeconds(now)
  const point = minutes.at(-1)
  return {
    /** Bot events of the minutes shown (contract "Bots": in no other figure). */
    bots: { minutes: minutes.length, events: minutes.reduce((n, m) => n + m.bots, 0) },
    lastMinute: { ...last, netRevenue: centsToDecimal(last.netCents) },
    activeSessions: point?.activeSessions ?? 0,
    currentMinute: point ?? null,
    funnel,
  }
}

export const withMoney = (o: OrderRow): RecentOrder => ({
  ...o,
  total: centsToDecimal(o.totalCents),
  netRevenue: centsToDecimal(o.netCents),
})
