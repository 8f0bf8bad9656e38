import { walkBotSession } from "./botSessions.ts"
import { loadCatalog, type Sku } from "./catalog.ts"
import { EventHeap, type Scheduled } from "./eventHeap.ts"
import { FAULTS, type Fault, injectFault } from "./faults.ts"
import { type Expected, emptyStats, type GeneratorStats } from "./GeneratorStats.ts"
import { Random } from "./random.ts"
import { type Session, walkReturn, walkSession } from "./sessionWalk.ts"
import { VisitorPool } from "./visitors.ts"

/** One record for the broker, and what the pipeline is expected to make of it. */
export interface GeneratedRecord {
  readonly key: string | null
  readonly value: string
  /** The broker record timestamp (CreateTime), epoch ms. */
  readonly timestamp: number
  readonly expected: Expected
  readonly eventType?: string
}

export interface EventStreamOptions {
  readonly seed: number
  /** Virtual start of the simulation (epoch ms). */
  readonly start: number
  /** Average events per second over a day; session arrivals follow the time of day around it. */
  readonly eps: number
  readonly badRate?: number
  readonly dupRate?: number
  readonly lateRate?: number
  /** Share of sessions that are bots (crawlers and a fast script; default 0: none, and the same events as before). */
  readonly botRate?: number
  /**
   * Simulate silently until this virtual time, so the first record comes from a shop already in full swing
   * (sessions last minutes; without it a live run starts with nothing but landing pages).
   */
  readonly warmUpUntil?: number
  /** Stop before the first record stamped after this (epoch ms, virtual time). */
  readonly end?: number
  /** Apply the time-of-day curve to arrivals (backfill); live runs pace by count instead. */
  readonly seasonality?: boolean
  readonly catalog?: ReadonlyArray<Sku>
}

interface Pending extends Scheduled {
  readonly eventTs: number
  readonly session: Session
  readonly step: number
  /** A redelivery carries the exact bytes of the first delivery. */
  readonly duplicateOf?: string
  readonly late: boolean
}

const DAY = 86_400_000
/** Mean events per session with the odds of `walkSession` (measured: 5.39 over 35k sessions). */
export const EVENTS_PER_SESSION = 5.4

/** Relative traffic by UTC hour: quiet at night, a lunch bump and an evening peak. Averages 1. */
const HOURLY = [
  0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.5, 0.75, 0.95, 1.05, 1.1, 1.2, 1.3, 1.25, 1.15, 1.1, 1.15, 1.3, 1.55, 1.8, 1.9,
  1.75, 1.3, 0.8,
]
const HOURLY_MEAN = HOURLY.reduce((a, b) => a + b, 0) / 24
const HOURLY_MAX = Math.max(...HOURLY) / HOURLY_MEAN
const seasonFactor = (ts: number) => HOURLY[new Date(ts).getUTCHours()]! / HOURLY_MEAN

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * The simulated shop as an endless, time-ordered sequence of broker records. Sessions start as a Poisson
 * process (thinned by the time of day), their events are scheduled on a heap by record timestamp, and
 * duplicates, late deliveries and faults are mixed in at the configured rates. `shift(recordTs)` lets a
 * live run move virtual time onto the wall clock at the moment a record is taken.
 */
export function* makeEventStream(
  options: EventStreamOptions,
  stats: GeneratorStats = emptyStats(),
  shift: (virtualRecordTs: number) => number = () => 0,
): Generator<GeneratedRecord, void> {
  const random = new Random(options.seed)
  const catalog = options.catalog ?? loadCatalog()
  const categories = [...new Set(catalog.map((s) => s.category))].sort()
  const visitors = new VisitorPool(random)
  const heap = new EventHeap<Pending>()
  const badRate = options.badRate ?? 0
  const dupRate = options.dupRate ?? 0
  const lateRate = options.lateRate ?? 0
  // Faults are extra records: p per valid record makes them `badRate` of all records.
  const faultPerValid = badRate >= 1 ? 1 : badRate / (1 - badRate)
  const meanGap = 1000 / (options.eps / EVENTS_PER_SESSION)
  let seq = 0
  let nextSessionAt = options.start

  const schedule = (session: Session) => {
    session.steps.forEach((step, i) => {
      const late = random.chance(lateRate)
      // Most events reach the broker within ~2 s; a late one minutes to days after it happened
      // (an app that was offline, a retry queue): mostly minutes, some hours, a few days.
      const delay = late
        ? random.weighted<() => number>([
            [() => random.int(120_000, 1_800_000), 70],
            [() => random.int(1_800_000, 6 * 3_600_000), 25],
            [() => random.int(DAY, 3 * DAY), 5],
          ])()
        : random.int(5, 2_000)
      heap.push({ recordTs: step.at + delay, seq: seq++, eventTs: step.at, session, step: i, late })
    })
    if (session.order !== null && random.chance(0.06)) {
      const order = session.order
      const returnAt = order.at + random.int(1, 14) * DAY + random.int(0, DAY)
      const returnSession = walkReturn(random, returnAt, `sess-${random.uuid()}`, session.visitor, order)
      // Scheduled as its own visit when the time comes.
      heap.push({ recordTs: returnAt, seq: seq++, eventTs: returnAt, session: returnSession, step: -1, late: false })
    }
  }

  const botRate = options.botRate ?? 0
  const startSession = (at: number) => {
    // Drawn only when bots are asked for, so a run without them is the same as before for a seed.
    if (botRate > 0 && random.chance(botRate)) {
      schedule(walkBotSession(random, catalog, at, `sess-${random.uuid()}`))
      return
    }
    const visitor = visitors.next()
    schedule(walkSession(random, catalog, categories, at, `sess-${random.uuid()}`, visitor))
  }

  const envelope = (p: Pending, eventTs: number): Record<string, unknown> => {
    const step = p.session.steps[p.step]!
    const { visitor, utm } = p.session
    const { event_type, ...fields } = step.fields
    return {
      schema_version: 1,
      event_id: random.uuid(),
      event_type,
      event_ts: iso(eventTs),
      anonymous_id: visitor.anonymousId,
      user_id: step.userId,
      session_id: p.session.id,
      context: {
        device: visitor.device,
        country: visitor.country,
        user_agent: visitor.userAgent,
        referrer: utm.referrer,
        utm_source: utm.source,
        utm_medium: utm.medium,
        utm_campaign: utm.campaign,
      },
      ...fields,
    }
  }

  const end = options.end ?? Number.POSITIVE_INFINITY
  const sessionsSeen = new WeakSet<Session>()
  const warmUpUntil = options.warmUpUntil ?? Number.NEGATIVE_INFINITY
  let pendingFault: { record: GeneratedRecord; fault: Fault } | undefined
  for (;;) {
    // Stats are counted as a record is handed out, so they always match what was taken.
    if (pendingFault !== undefined) {
      const { record, fault } = pendingFault
      pendingFault = undefined
      stats.records++
      stats.dlq[fault] = (stats.dlq[fault] ?? 0) + 1
      yield record
      continue
    }
    // Start every session due before the next scheduled record.
    while (heap.size === 0 || nextSessionAt <= heap.peek()!.recordTs) {
      // Whole milliseconds, as broker timestamps are.
      const at = Math.floor(nextSessionAt)
      nextSessionAt += random.exponential(options.seasonality ? meanGap / HOURLY_MAX : meanGap)
      if (!options.seasonality || random.chance(seasonFactor(at) / HOURLY_MAX)) startSession(at)
    }
    if (heap.peek()!.recordTs > end) return
    const p = heap.pop()!
    if (p.step === -1) {
      // A return visit whose time has come.
      schedule(p.session)
      continue
    }
    if (p.recordTs < warmUpUntil) continue
    const offset = shift(p.recordTs)
    const recordTs = p.recordTs + offset
    const key = p.session.id
    if (p.duplicateOf !== undefined) {
      stats.records++
      stats.duplicates++
      yield { key, value: p.duplicateOf, timestamp: recordTs, expected: "duplicate" }
      continue
    }
    if (!sessionsSeen.has(p.session)) {
      sessionsSeen.add(p.session)
      stats.sessions++
    }
    const event = envelope(p, p.eventTs + offset)
    const value = JSON.stringify(event)
    const eventType = event.event_type as string
    stats.records++
    stats.valid[eventType] = (stats.valid[eventType] ?? 0) + 1
    if (p.late) stats.late++
    if (eventType === "order_placed") {
      stats.orders++
      stats.orderTotalCents += Math.round((event.total as number) * 100)
    }
    if (random.chance(dupRate)) {
      heap.push({ ...p, recordTs: p.recordTs + random.int(1_000, 600_000), seq: seq++, duplicateOf: value })
    }
    if (random.chance(faultPerValid)) {
      const fault: Fault = random.pick(FAULTS)
      pendingFault = {
        fault,
        record: {
          key: fault === "invalid_json" ? null : key,
          value: injectFault(random, fault, event, recordTs, iso),
          timestamp: recordTs,
          expected: { dlq: fault },
        },
      }
    }
    yield { key, value, timestamp: recordTs, expected: "valid", eventType }
  }
}
