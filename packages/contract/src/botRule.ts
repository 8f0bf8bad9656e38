/**
 * Contract v1's bot rule (docs/contract/events-v1.md, "Bots"). An event is a bot event when its user agent is a
 * known crawler (isbot), or when its session has more than BOT_RATE_LIMIT events whose event_ts falls in one
 * UTC minute (counted over what Silver holds, in commit order: the 61st such event and every later one). Both
 * are read from the data alone, so a replay or a restart gives the same answer.
 */
export const BOT_REASONS = ["user_agent", "rate"] as const
export type BotReason = (typeof BOT_REASONS)[number]

/** Events of one session in one minute of event_ts that a person can make (a click a second); more is a script. */
export const BOT_RATE_LIMIT = 60

export const MINUTE_MS = 60_000

/** The rate rule's bucket of an event: its session and the UTC minute of its event_ts. */
export const rateKey = (sessionId: string, eventTsMs: number): string =>
  `${Math.floor(eventTsMs / MINUTE_MS)}\u0000${sessionId}`
