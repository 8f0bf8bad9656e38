import type { ProducerRecord } from "@shop/broker"

export type RecordTime = "now" | "event"

const decoder = new TextDecoder("utf-8", { fatal: false })

/**
 * The broker record for one input line: the bytes unchanged, keyed by `session_id` when the line parses
 * (so one session stays in one partition, in order), and stamped with the line's `event_ts` when asked
 * and parseable. A line that does not parse is still produced: the stream processor sends it to the DLQ.
 */
export const recordOfLine = (line: Uint8Array, recordTime: RecordTime, now: number): ProducerRecord => {
  let key: string | null = null
  let timestamp = now
  try {
    const parsed: unknown = JSON.parse(decoder.decode(line))
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const { session_id, event_ts } = parsed as { session_id?: unknown; event_ts?: unknown }
      if (typeof session_id === "string") key = session_id
      if (recordTime === "event" && typeof event_ts === "string") {
        const ms = Date.parse(event_ts)
        if (Number.isFinite(ms)) timestamp = ms
      }
    }
  } catch {
    // Not JSON: no key, record time now. The processor will reject it with a reason.
  }
  return { key, value: line, timestamp }
}
