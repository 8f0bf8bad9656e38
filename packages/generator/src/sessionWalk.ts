import type { Sku } from "./catalog.ts"
import type { Random } from "./random.ts"
import type { Visitor } from "./visitors.ts"

/** One event of a session before it gets its envelope: type-specific fields, when, and who is logged in. */
export interface Step {
  readonly at: number
  readonly userId: string | null
  readonly fields: Record<string, unknown> & { readonly event_type: string }
}

export interface Utm {
  readonly source: string | null
  readonly medium: string | null
  readonly campaign: string | null
  readonly referrer: string | null
}

export interface PlacedOrder {
  readonly orderId: string
  readonly lines: ReadonlyArray<{ sku: string; quantity: number; unitPriceCents: number }>
  readonly totalCents: number
  readonly at: number
}

export interface Session {
  readonly id: string
  readonly visitor: Visitor
  readonly utm: Utm
  readonly steps: ReadonlyArray<Step>
  readonly order: PlacedOrder | null
}

const UTMS: ReadonlyArray<readonly [Utm, number]> = [
  [{ source: null, medium: null, campaign: null, referrer: null }, 40],
  [{ source: "google", medium: "cpc", campaign: "brand", referrer: "https://www.google.com/" }, 18],
  [{ source: "google", medium: "organic", campaign: null, referrer: "https://www.google.com/" }, 16],
  [{ source: "instagram", medium: "social", campaign: "winter_drop", referrer: "https://instagram.com/" }, 10],
  [{ source: "newsletter", medium: "email", campaign: "weekly", referrer: null }, 9],
  [{ source: "partner_blog", medium: "referral", campaign: null, referrer: "https://blog.example.org/" }, 7],
]
const QUERIES = ["shoes", "rain jacket", "gift", "backpack", "knife", "candle", "earbuds", "tent", "puzzle", "cookbook"]
const COUPONS: ReadonlyArray<readonly [string, "percent" | "fixed", number]> = [
  ["WELCOME10", "percent", 10],
  ["SAVE5", "fixed", 500],
  ["WINTER15", "percent", 15],
]
const PAYMENTS: ReadonlyArray<readonly [string, number]> = [
  ["card", 62],
  ["paypal", 20],
  ["apple_pay", 13],
  ["gift_card", 3],
  ["other", 2],
]
const RETURN_REASONS = ["too small", "too large", "damaged in transit", "not as described", "changed my mind"]

/** Money as the contract's JSON number. */
export const money = (cents: number): number => cents / 100

const TAX_RATE = 0.08
const FREE_SHIPPING_CENTS = 5_000
const SHIPPING_CENTS = 499

/**
 * One visit to the shop: lands on home, a category or a product (depending on where it came from), browses
 * and searches, views products, may add to cart, remove, start checkout and order. Each step may end the
 * visit: with these odds about 3% of sessions order.
 */
export const walkSession = (
  random: Random,
  catalog: ReadonlyArray<Sku>,
  categories: ReadonlyArray<string>,
  start: number,
  sessionId: string,
  visitor: Visitor,
): Session => {
  const utm = random.weighted(UTMS)
  const steps: Array<Step> = []
  let t = start
  // Registered visitors log in partway through (or never); guests stay anonymous.
  const loginAfter = visitor.accountId === null ? Number.POSITIVE_INFINITY : random.int(0, 6)
  const push = (fields: Step["fields"]) => {
    steps.push({ at: t, userId: steps.length >= loginAfter ? visitor.accountId : null, fields })
    t += Math.round(random.exponential(35_000)) + 1_500
  }
  const page = (page_type: string, page_url: string, sku: string | null, category: string | null) =>
    push({ event_type: "page_view", page_type, page_url, sku, category })
  const productPage = (s: Sku) => page("product", `/p/${s.sku}`, s.sku, s.category)

  const category = random.pick(categories)
  const inCategory = catalog.filter((s) => s.category === category)
  const landing = utm.medium === "cpc" ? "product" : utm.medium === "social" ? "category" : "home"
  if (landing === "product") productPage(random.pick(inCategory))
  else if (landing === "category") page("category", `/c/${category}`, null, category)
  else page("home", "/", null, null)

  const browse = random.int(0, 3)
  for (let i = 0; i < browse; i++) {
    if (random.chance(0.35)) {
      const query = random.pick(QUERIES)
      push({ event_type: "search", query, results_count: random.chance(0.1) ? 0 : random.int(1, 60) })
      page("search", `/search?q=${encodeURIComponent(query)}`, null, null)
    } else {
      const c = random.pick(categories)
      page("category", `/c/${c}`, null, c)
    }
  }
  if (!random.chance(0.62) && landing !== "product") return { id: sessionId, visitor, utm, steps, order: null }

  const cart = new Map<string, { sku: Sku; quantity: number }>()
  const viewed = random.int(1, 5)
  for (let i = 0; i < viewed; i++) {
    const s = random.chance(0.7) ? random.pick(inCategory) : random.pick(catalog)
    productPage(s)
    if (random.chance(0.06)) {
      const quantity = random.weighted<number>([
        [1, 80],
        [2, 15],
        [3, 5],
      ])
      push({ event_type: "add_to_cart", sku: s.sku, quantity, unit_price: money(s.priceCents), currency: "USD" })
      const line = cart.get(s.sku)
      cart.set(s.sku, { sku: s, quantity: (line?.quantity ?? 0) + quantity })
    }
  }
  if (cart.size === 0) return { id: sessionId, visitor, utm, steps, order: null }
  page("cart", "/cart", null, null)
  if (cart.size > 1 && random.chance(0.2)) {
    const [sku, line] = [...cart.entries()][0]!
    push({ event_type: "remove_from_cart", sku, quantity: line.quantity })
    cart.delete(sku)
  }
  if (!random.chance(0.5)) return { id: sessionId, visitor, utm, steps, order: null }

  const lines = [...cart.values()].map((l) => ({
    sku: l.sku.sku,
    quantity: l.quantity,
    unitPriceCents: l.sku.priceCents,
  }))
  const subtotal = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0)
  const itemCount = lines.reduce((sum, l) => sum + l.quantity, 0)
  page("checkout", "/checkout", null, null)
  push({ event_type: "checkout_started", cart_value: money(subtotal), item_count: itemCount, currency: "USD" })
  if (!random.chance(0.55)) return { id: sessionId, visitor, utm, steps, order: null }

  // Everything in integer cents, so the order invariants hold exactly.
  const coupon = random.chance(0.22) ? random.pick(COUPONS) : null
  const discount =
    coupon === null
      ? 0
      : Math.min(subtotal, coupon[1] === "percent" ? Math.round((subtotal * coupon[2]) / 100) : coupon[2])
  const shipping = subtotal - discount >= FREE_SHIPPING_CENTS ? 0 : SHIPPING_CENTS
  const tax = Math.round((subtotal - discount) * TAX_RATE)
  const total = subtotal - discount + shipping + tax
  const orderId = `ord-${random.uuid().slice(0, 13)}`
  push({
    event_type: "order_placed",
    order_id: orderId,
    items: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: money(l.unitPriceCents) })),
    subtotal: money(subtotal),
    discount: money(discount),
    shipping: money(shipping),
    tax: money(tax),
    total: money(total),
    currency: "USD",
    payment_method: random.weighted(PAYMENTS),
    coupon: coupon === null ? null : coupon[0],
  })
  const placedAt = steps.at(-1)!.at
  page("confirmation", `/order/${orderId}`, null, null)
  return { id: sessionId, visitor, utm, steps, order: { orderId, lines, totalCents: total, at: placedAt } }
}

/** A later visit that returns part of an order: a home page view, then the return. */
export const walkReturn = (
  random: Random,
  start: number,
  sessionId: string,
  visitor: Visitor,
  order: PlacedOrder,
): Session => {
  const line = random.pick(order.lines)
  const quantity = random.int(1, line.quantity)
  const refund = Math.min(order.totalCents, quantity * line.unitPriceCents)
  const userId = visitor.accountId
  return {
    id: sessionId,
    visitor,
    utm: { source: null, medium: null, campaign: null, referrer: null },
    order: null,
    steps: [
      {
        at: start,
        userId,
        fields: { event_type: "page_view", page_type: "other", page_url: "/account/orders", sku: null, category: null },
      },
      {
        at: start + random.int(20_000, 120_000),
        userId,
        fields: {
          event_type: "order_returned",
          order_id: order.orderId,
          items: [{ sku: line.sku, quantity }],
          refund_amount: money(refund),
          currency: "USD",
          reason: random.pick(RETURN_REASONS),
        },
      },
    ],
  }
}
