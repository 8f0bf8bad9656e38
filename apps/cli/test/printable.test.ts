import { expect, setDefaultTimeout, test } from "bun:test"
import type { ConsumedRecord } from "@shop/broker"
import { printable } from "../src/printable.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const record = (value: string): ConsumedRecord =>
  ({
    topic: "events.raw",
    partition: 0,
    offset: 7,
    timestamp: Date.parse("2026-12-01T10:00:00Z"),
    key: "s1",
    value: new TextEncoder().encode(value),
  }) as ConsumedRecord

/** `bun run consume`: a value as a string by default, as decoded JSON with --pretty, cut with its length when long. */
test("consume prints values as strings, decoded with --pretty, and cuts long ones saying their length", () => {
  const event = '{"event_type":"page_view","n":1}'
  expect(JSON.parse(printable(record(event))).value).toBe(event)
  expect(JSON.parse(printable(record(event), { pretty: true })).value).toEqual({ event_type: "page_view", n: 1 })
  expect(JSON.parse(printable(record("not json"), { pretty: true })).value).toBe("not json")
  const huge = `{"blob":"${"x".repeat(73_040)}"}`
  const line = printable(record(huge))
  expect(line.length).toBeLessThan(2_300)
  expect(JSON.parse(line).value).toEndWith(
    `…(cut: ${huge.length.toLocaleString("en-US")} chars in all; --full prints it)`,
  )
  expect(JSON.parse(printable(record(huge), { maxChars: 0 })).value).toBe(huge)
})
