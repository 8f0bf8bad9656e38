import type { Random } from "./random.ts"

export type Device = "desktop" | "mobile" | "tablet"

export interface Visitor {
  readonly anonymousId: string
  /** The customer account, when the visitor has one (they may log in mid-session). */
  readonly accountId: string | null
  readonly device: Device
  readonly country: string
  readonly userAgent: string
}

const COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ["US", 55],
  ["CA", 9],
  ["GB", 9],
  ["DE", 7],
  ["FR", 5],
  ["AU", 5],
  ["NL", 3],
  ["SE", 2],
  ["JP", 3],
  ["BR", 2],
]
const DEVICES: ReadonlyArray<readonly [Device, number]> = [
  ["mobile", 58],
  ["desktop", 36],
  ["tablet", 6],
]
const AGENTS: Record<Device, string> = {
  mobile: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
  desktop: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
  tablet: "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
}

/** Visitors: a growing pool of returning ones (same cookie, same device) and new ones. */
export class VisitorPool {
  private readonly known: Array<Visitor> = []
  private accounts = 0

  constructor(
    private readonly random: Random,
    private readonly maxKnown = 20_000,
  ) {}

  next(): Visitor {
    if (this.known.length > 20 && this.random.chance(0.45)) return this.random.pick(this.known)
    const device = this.random.weighted(DEVICES)
    const visitor: Visitor = {
      anonymousId: `anon-${this.random.uuid().slice(0, 18)}`,
      accountId: this.random.chance(0.35) ? `cust-${String(++this.accounts).padStart(6, "0")}` : null,
      device,
      country: this.random.weighted(COUNTRIES),
      userAgent: AGENTS[device],
    }
    if (this.known.length < this.maxKnown) this.known.push(visitor)
    else this.known[this.random.int(0, this.maxKnown - 1)] = visitor
    return visitor
  }

  /** A visitor who signs up at checkout gets an account from then on. */
  register(visitor: Visitor): Visitor {
    const registered = { ...visitor, accountId: `cust-${String(++this.accounts).padStart(6, "0")}` }
    const i = this.known.indexOf(visitor)
    if (i >= 0) this.known[i] = registered
    return registered
  }
}
