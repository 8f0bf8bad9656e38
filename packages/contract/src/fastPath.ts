/**
 * A fast path for the common case of `validate`: hand-compiled checks of the wire schemas that only ever say
 * "this passes its type's schema" (returning the parsed `event_ts`) or "ask the schema". They are stricter than
 * or equal to the Effect Schemas in wireSchemas.ts, which stay the single source of truth and give every error
 * message: whatever the fast path does not accept is decoded by the schema, as before.
 *
 * Kept honest two ways: each type's schema is fingerprinted (fields, tags, literals, optionality, checks and
 * their annotations) at load, and the fast path of a type whose schema no longer matches the fingerprint it
 * was written for is switched off (the schema decides alone, and `fastPathStale` names it, so a spec fails);
 * and a spec runs both paths over the fuzz corpus and requires the same verdicts and events.
 */
import type { SchemaAST } from "effect"
import { DEVICES, type EventType, PAGE_TYPES, PAYMENT_METHODS } from "./constants.ts"
import { isMoney } from "./money.ts"
import { parseRfc3339 } from "./timestamp.ts"
import { wireSchemaByType } from "./wireSchemas.ts"

type Obj = Record<string, unknown>

const devices = new Set<string>(DEVICES)
const pageTypes = new Set<string>(PAGE_TYPES)
const paymentMethods = new Set<string>(PAYMENT_METHODS)

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === "string"
const strOrNull = (v: unknown) => v === null || typeof v === "string"
/** An optional key: absent, null or a string (JSON has no undefined, but an absent key reads as one). */
const optText = (v: unknown) => v === undefined || v === null || typeof v === "string"
const nonEmpty = (v: unknown) => typeof v === "string" && v.length > 0
const id64 = (v: unknown) => typeof v === "string" && v.length >= 1 && v.length <= 64
const intIn = (v: unknown, min: number, max: number) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max
const money = (v: unknown) => typeof v === "number" && isMoney(v)

const HEX = (() => {
  const t = new Uint8Array(128)
  for (const c of "0123456789abcdefABCDEF") t[c.charCodeAt(0)] = 1
  return t
})()

/** The Uuid pattern of wireSchemas.ts, without a RegExp. */
const uuid = (v: unknown): boolean => {
  if (typeof v !== "string" || v.length !== 36) return false
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false
    } else if (c > 127 || HEX[c] === 0) return false
  }
  return true
}

const country = (v: unknown) => {
  if (typeof v !== "string" || v.length !== 2) return false
  const a = v.charCodeAt(0)
  const b = v.charCodeAt(1)
  return a >= 65 && a <= 90 && b >= 65 && b <= 90
}

/** The envelope and context every type shares; `event_ts` in ms, or undefined (then the schema decides). */
const envelope = (o: Obj): number | undefined => {
  if (o.schema_version !== 1 || !uuid(o.event_id) || !isStr(o.event_ts)) return undefined
  if (!id64(o.anonymous_id) || !strOrNull(o.user_id) || !id64(o.session_id)) return undefined
  const c = o.context
  if (!isObj(c) || !isStr(c.device) || !devices.has(c.device) || !country(c.country)) return undefined
  if (!optText(c.user_agent) || !optText(c.referrer)) return undefined
  if (!optText(c.utm_source) || !optText(c.utm_medium) || !optText(c.utm_campaign)) return undefined
  return parseRfc3339(o.event_ts)
}

const lines = (v: unknown, priced: boolean): boolean => {
  if (!Array.isArray(v) || v.length < 1 || v.length > 100) return false
  for (const line of v) {
    if (!isObj(line) || !nonEmpty(line.sku) || !intIn(line.quantity, 1, 99)) return false
    if (priced && !money(line.unit_price)) return false
  }
  return true
}

const checks: Record<EventType, (o: Obj) => boolean> = {
  page_view: (o) =>
    isStr(o.page_type) &&
    pageTypes.has(o.page_type) &&
    isStr(o.page_url) &&
    (o.sku === undefined || o.sku === null || nonEmpty(o.sku)) &&
    strOrNull(o.category) &&
    (o.page_type !== "product" || nonEmpty(o.sku)),
  search: (o) =>
    isStr(o.query) &&
    o.query.length >= 1 &&
    o.query.length <= 200 &&
    intIn(o.results_count, 0, Number.MAX_SAFE_INTEGER),
  add_to_cart: (o) => nonEmpty(o.sku) && intIn(o.quantity, 1, 99) && money(o.unit_price) && isStr(o.currency),
  remove_from_cart: (o) => nonEmpty(o.sku) && intIn(o.quantity, 1, 99),
  checkout_started: (o) => money(o.cart_value) && intIn(o.item_count, 1, Number.MAX_SAFE_INTEGER) && isStr(o.currency),
  order_placed: (o) =>
    nonEmpty(o.order_id) &&
    lines(o.items, true) &&
    money(o.subtotal) &&
    money(o.discount) &&
    money(o.shipping) &&
    money(o.tax) &&
    money(o.total) &&
    isStr(o.currency) &&
    isStr(o.payment_method) &&
    paymentMethods.has(o.payment_method) &&
    strOrNull(o.coupon),
  order_returned: (o) =>
    nonEmpty(o.order_id) && lines(o.items, false) && money(o.refund_amount) && isStr(o.currency) && isStr(o.reason),
}

/** A stable description of a schema's AST: what the fast path above was written against. */
export const schemaFingerprint = (ast: SchemaAST.AST): string => {
  const a = ast as unknown as {
    _tag: string
    literal?: unknown
    checks?: ReadonlyArray<{ annotations?: Record<string, unknown> }>
    propertySignatures?: ReadonlyArray<{ name: PropertyKey; type: SchemaAST.AST }>
    indexSignatures?: ReadonlyArray<unknown>
    elements?: ReadonlyArray<SchemaAST.AST>
    rest?: ReadonlyArray<SchemaAST.AST>
    types?: ReadonlyArray<SchemaAST.AST>
    context?: { isOptional?: boolean }
    encoding?: unknown
  }
  const checks = (a.checks ?? [])
    .map((c) => JSON.stringify(c.annotations ?? {}, (_k, v) => (typeof v === "function" ? "fn" : v)))
    .join(",")
  const parts = [
    a._tag,
    a.literal === undefined ? "" : JSON.stringify(a.literal),
    a.context?.isOptional === true ? "?" : "",
    a.encoding === undefined ? "" : "enc",
    checks === "" ? "" : `[${checks}]`,
  ]
  const children = [
    ...(a.propertySignatures ?? []).map((p) => `${String(p.name)}:${schemaFingerprint(p.type)}`),
    ...(a.indexSignatures ?? []).map(() => "index"),
    ...(a.elements ?? []).map(schemaFingerprint),
    ...(a.rest ?? []).map((r) => `...${schemaFingerprint(r)}`),
    ...(a.types ?? []).map(schemaFingerprint),
  ]
  return `${parts.join("")}${children.length === 0 ? "" : `{${children.join(";")}}`}`
}

/**
 * The fingerprint (a hash of it: the full text is long) each type's fast path was written against. After a
 * change to wireSchemas.ts, update the type's check above and then this hash (the spec prints the new one).
 */
export const FAST_PATH_FOR: Record<EventType, string> = {
  page_view: "5f337fe1ac9474a8",
  search: "f7976806ab794449",
  add_to_cart: "ec088d50b0930cd7",
  remove_from_cart: "4f8369b28b3d33c",
  checkout_started: "1bfcb4e5609f187b",
  order_placed: "bd94fb4905e74d8c",
  order_returned: "47b55bb3086faf5c",
}

export const fingerprintHash = (type: EventType): string =>
  Bun.hash(schemaFingerprint(wireSchemaByType[type].ast)).toString(16)

/** Types whose schema changed since their fast path was written (their fast path is off). */
export const fastPathStale: ReadonlyArray<EventType> = (Object.keys(FAST_PATH_FOR) as Array<EventType>).filter(
  (t) => fingerprintHash(t) !== FAST_PATH_FOR[t],
)

const enabled = new Set<string>(
  (Object.keys(FAST_PATH_FOR) as Array<EventType>).filter((t) => !fastPathStale.includes(t)),
)

/**
 * `event_ts` in epoch ms when `o` (a JSON object whose event_type is `type`) certainly passes `type`'s wire
 * schema; undefined when the schema must decide (an error, an edge, or a type whose fast path is off).
 */
export const fastWireCheck = (type: EventType, o: Obj): number | undefined => {
  if (!enabled.has(type)) return undefined
  const ts = envelope(o)
  return ts !== undefined && checks[type](o) ? ts : undefined
}
