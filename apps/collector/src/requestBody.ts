import { MAX_EVENTS_PER_REQUEST, MAX_RECORD_BYTES } from "@shop/contract"

export { MAX_EVENTS_PER_REQUEST }

/** Requests over this many bytes are refused whole (413). */
export const MAX_REQUEST_BYTES = 1024 * 1024
/** Events over this many bytes are refused (413), as the contract's record limit. */
export const MAX_EVENT_BYTES = MAX_RECORD_BYTES

/** What is wrong with a request, as its HTTP answer. */
export interface BodyProblem {
  readonly status: 400 | 408 | 413 | 415
  readonly message: string
}

export interface CollectedEvent {
  /** The event exactly as the client sent it. */
  readonly text: string
  /** Its parsed JSON (undefined when it does not parse: the stream processor sends it to the DLQ). */
  readonly value: unknown
  /** Partition key: the event's session_id when it has one, so a session stays in order on one partition. */
  readonly key: string | null
}

const encoder = new TextEncoder()

const keyOf = (value: unknown): string | null =>
  typeof value === "object" && value !== null && typeof (value as { session_id?: unknown }).session_id === "string"
    ? (value as { session_id: string }).session_id
    : null

/**
 * The source text of each element of a JSON array, as written (re-serializing would change numbers such as
 * 10.10 and the key order). `text` must already parse as a JSON array.
 */
export const arrayElements = (text: string): Array<string> => {
  const out: Array<string> = []
  let depth = 0
  let inString = false
  let start = -1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === "[" || c === "{") {
      if (depth === 1 && start === -1) start = i
      depth++
      continue
    } else if (c === "]" || c === "}") {
      depth--
      if (depth === 0) {
        if (start !== -1) out.push(text.slice(start, i).trim())
        break
      }
      continue
    } else if (c === "," && depth === 1) {
      out.push(text.slice(start, i).trim())
      start = -1
      continue
    }
    if (depth === 1 && start === -1 && !/\s/.test(c)) start = i
  }
  return out
}

/** Non-blank lines of `text`, counting stops at `stopAt`. */
const countLines = (text: string, stopAt: number): number => {
  let n = 0
  let start = 0
  while (start <= text.length && n < stopAt) {
    const end = text.indexOf("\n", start)
    const stop = end === -1 ? text.length : end
    if (text.slice(start, stop).trim() !== "") n++
    if (end === -1) break
    start = end + 1
  }
  return n
}

/**
 * A request body as events: a JSON array (`application/json`) or one event per line (`application/x-ndjson`,
 * `text/plain`). Events are not validated here: like Snowplow's collector, this one only frames and limits;
 * the stream processor judges each event and sends the bad ones to the DLQ with a reason.
 */
export const parseBody = (
  contentType: string | null,
  body: string,
  maxEvents: number = MAX_EVENTS_PER_REQUEST,
): Array<CollectedEvent> | BodyProblem => {
  const tooMany = (n: string | number): BodyProblem => ({
    status: 413,
    message: `request carries ${n} events; the limit is ${maxEvents} per request: split the batch`,
  })
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase()
  let texts: Array<string>
  let values: Array<unknown> | undefined
  if (type === "application/json") {
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch (e) {
      return { status: 400, message: `body is not valid JSON: ${e instanceof Error ? e.message : String(e)}` }
    }
    if (!Array.isArray(parsed)) {
      return { status: 400, message: "expected a JSON array of events (or send application/x-ndjson, one per line)" }
    }
    if (parsed.length > maxEvents) return tooMany(parsed.length)
    texts = arrayElements(body)
    values = parsed
  } else if (type === "application/x-ndjson" || type === "text/plain") {
    // Counted before splitting: a 1 MiB body of short lines must not become half a million strings.
    if (countLines(body, maxEvents + 1) > maxEvents) return tooMany(`more than ${maxEvents}`)
    texts = body.split("\n").filter((line) => line.trim() !== "")
  } else {
    return {
      status: 415,
      message: `unsupported content-type ${type || "(none)"}: use application/json or application/x-ndjson`,
    }
  }
  if (texts.length === 0) return { status: 400, message: "no events in the request" }
  const events: Array<CollectedEvent> = []
  for (let i = 0; i < texts.length; i++) {
    const bytes = encoder.encode(texts[i]!).length
    if (bytes > MAX_EVENT_BYTES) {
      return { status: 413, message: `event ${i} is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes per event` }
    }
    let value = values?.[i]
    if (values === undefined) {
      try {
        value = JSON.parse(texts[i]!)
      } catch {
        value = undefined // the stream processor sends it to the DLQ as invalid_json
      }
    }
    events.push({ text: texts[i]!, value, key: keyOf(value) })
  }
  return events
}
