/**
 * A seeded pseudo-random source (sfc32), so `--seed S` gives the same events byte for byte. Math.random would
 * make replays and tests irreproducible.
 */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    // splitmix32 spreads a small seed over the four words of state.
    let s = seed >>> 0
    const next = () => {
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.next()
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  pick<A>(items: ReadonlyArray<A>): A {
    return items[Math.floor(this.next() * items.length)]!
  }

  /** Picks by weight: `[[value, weight], ...]`. */
  weighted<A>(choices: ReadonlyArray<readonly [A, number]>): A {
    let total = 0
    for (const [, w] of choices) total += w
    let r = this.next() * total
    for (const [v, w] of choices) {
      r -= w
      if (r < 0) return v
    }
    return choices.at(-1)![0]
  }

  /** Exponentially distributed with the given mean (gaps between arrivals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }

  /** A version 4 UUID drawn from this source. */
  uuid(): string {
    const hex = (n: number, digits: number) => Math.floor(n).toString(16).padStart(digits, "0")
    const r = () => this.next() * 0x10000
    return `${hex(r(), 4)}${hex(r(), 4)}-${hex(r(), 4)}-4${hex(r() % 0x1000, 3)}-${hex(0x8000 + (r() % 0x4000), 4)}-${hex(r(), 4)}${hex(r(), 4)}${hex(r(), 4)}`
  }
}
