import type { Fault } from "./faults.ts"

/** What the generator emitted, by what the pipeline should make of it: the expectations of the end-to-end specs. */
export interface GeneratorStats {
  records: number
  /** Valid first deliveries per event_type: what Silver must hold. */
  valid: Record<string, number>
  /** Byte-identical redeliveries of valid events: dropped by Silver's dedup. */
  duplicates: number
  /** Injected contract violations per expected DLQ code. */
  dlq: Record<string, number>
  /** Valid events delivered late (accepted, landing in an earlier event_date). */
  late: number
  /** Sessions with at least one emitted event. */
  sessions: number
  orders: number
  /** Sum of `total` over valid order_placed events, in cents. */
  orderTotalCents: number
}

export const emptyStats = (): GeneratorStats => ({
  records: 0,
  valid: {},
  duplicates: 0,
  dlq: {},
  late: 0,
  sessions: 0,
  orders: 0,
  orderTotalCents: 0,
})

export type Expected = "valid" | "duplicate" | { readonly dlq: Fault }

export const sumValid = (s: GeneratorStats): number => Object.values(s.valid).reduce((a, b) => a + b, 0)
export const sumDlq = (s: GeneratorStats): number => Object.values(s.dlq).reduce((a, b) => a + b, 0)
