import { Schema } from "effect"

/** Money in integer cents: sums stay exact, unlike summed floats. */
export type Cents = number

/**
 * A JSON number is money when it is >= 0, < 1,000,000 and has at most two decimals. "At most two decimals" is
 * tested exactly: the number must be the very double that its cents value divided by 100 parses to, which is
 * what the JSON text "19.99" gives and what "1.005" or "1e-7" do not.
 */
export const isMoney = (n: number): boolean =>
  Number.isFinite(n) && n >= 0 && n < 1_000_000 && Math.round(n * 100) / 100 === n

/** Cents of a number that passed `isMoney`. */
export const toCents = (n: number): Cents => Math.round(n * 100)

/** Cents as the contract's JSON number (what a producer emits). */
export const fromCents = (cents: Cents): number => cents / 100

export const Money = Schema.Number.pipe(
  Schema.check(
    Schema.makeFilter((n: number) => isMoney(n), {
      expected: "money: a number >= 0 and < 1000000 with at most two decimals",
    }),
  ),
)
