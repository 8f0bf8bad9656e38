import type { ConsumedRecord } from "@shop/broker"

const decoder = new TextDecoder()

/** Values longer than this are cut on the terminal (a too_large record is 70k+ characters), unless --full. */
export const MAX_VALUE_CHARS = 2_000

/**
 * One record as a JSON line. `pretty`: the value as its decoded JSON (when it is JSON) instead of a string; a
 * value over `maxChars` (unless 0) is cut and says its length: `…(cut: 73,052 chars in all; --full prints it)`.
 */
export const printable = (r: ConsumedRecord, options: { pretty?: boolean; maxChars?: number } = {}): string => {
  const text = decoder.decode(r.value)
  const max = options.maxChars ?? MAX_VALUE_CHARS
  let value: unknown = text
  if (max > 0 && text.length > max) {
    value = `${text.slice(0, max)}…(cut: ${text.length.toLocaleString("en-US")} chars in all; --full prints it)`
  } else if (options.pretty === true) {
    try {
      value = JSON.parse(text)
    } catch {
      value = text
    }
  }
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: new Date(r.timestamp).toISOString(),
    key: r.key,
    value,
  })
}
