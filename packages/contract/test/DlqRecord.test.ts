import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { Schema } from "effect"
import { DlqRecord, makeDlqRecord, validate } from "../src/index.ts"
import { RECORD_TS } from "./fixtures.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const source = { topic: "events.raw", partition: 2, offset: 1234, timestamp: RECORD_TS }

describe("DLQ record", () => {
  test("has the contract's shape and keeps the payload byte for byte", () => {
    const payload = '{"schema_version":1, "quantity": "2"  }'
    const r = validate({ value: payload, timestamp: RECORD_TS })
    if (r.ok) throw new Error("expected rejection")
    const dlq = makeDlqRecord({ error: r.error, source, payload, failedAt: RECORD_TS + 601 })
    expect(dlq).toEqual({
      error: r.error,
      source: { topic: "events.raw", partition: 2, offset: 1234, timestamp: "2026-11-24T17:03:12.400Z" },
      payload,
      failed_at: "2026-11-24T17:03:13.001Z",
    })
    expect(Schema.decodeUnknownSync(DlqRecord)(JSON.parse(JSON.stringify(dlq)))).toEqual(dlq)
  })

  test("invalid UTF-8 payloads keep their exact bytes in payload_base64", () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0x00, 0x7d])
    const dlq = makeDlqRecord({
      error: { code: "invalid_json", message: "record is not valid UTF-8", path: null },
      source,
      payload: bytes,
      failedAt: RECORD_TS,
    })
    expect(dlq.payload).toBe("{\uFFFD\u0000}")
    expect(new Uint8Array(Buffer.from(dlq.payload_base64 ?? "", "base64"))).toEqual(bytes)
  })

  test("valid UTF-8 bytes need no base64 copy", () => {
    const dlq = makeDlqRecord({
      error: { code: "invalid_json", message: "x", path: null },
      source,
      payload: new TextEncoder().encode("héllo"),
      failedAt: RECORD_TS,
    })
    expect(dlq.payload).toBe("héllo")
    expect(dlq.payload_base64).toBeUndefined()
  })
})
