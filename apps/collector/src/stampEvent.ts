/** What the collector adds to every event it accepts. */
export interface Stamp {
  /** Whether the request was authenticated with a write key (a shop's backend), or came from a browser. */
  readonly keyed: boolean
  /** The client's country, asked for only when an event lacks one. */
  readonly country: () => string
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const missing = (v: unknown) => v === undefined || v === null || v === ""

/**
 * The event as it goes to events.raw: `ingest: {keyed}` set (replacing any the client sent, so a browser cannot
 * pass for a keyed sender), and `context.country` filled when the event has a context without one. Text that
 * is not a JSON object goes unchanged (the stream processor sends it to the DLQ). Where nothing else changes,
 * the field is appended to the client's text, which keeps its bytes (numbers such as 10.10, key order);
 * otherwise the event is written anew from its parsed value.
 */
export const stampEvent = (text: string, value: unknown, stamp: Stamp): string => {
  if (!isObject(value)) return text
  const ingest = { keyed: stamp.keyed }
  const context = value.context
  const fillCountry = isObject(context) && missing(context.country)
  if (!fillCountry && !Object.hasOwn(value, "ingest") && Object.keys(value).length > 0) {
    const end = text.lastIndexOf("}")
    return `${text.slice(0, end)},"ingest":${JSON.stringify(ingest)}}`
  }
  return JSON.stringify({
    ...value,
    ...(fillCountry ? { context: { ...context, country: stamp.country() } } : {}),
    ingest,
  })
}
