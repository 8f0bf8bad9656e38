// Measures validate() against a bare JSON.parse of the same records, for scale: `bun packages/contract/bench/validateRate.ts`.
import { validate } from "../src/index.ts"
import { line, RECORD_TS, samples } from "../test/fixtures.ts"

const mix = [
  ...Array(12).fill(samples.page_view),
  ...Array(3).fill(samples.search),
  ...Array(3).fill(samples.add_to_cart),
  samples.remove_from_cart,
  samples.checkout_started,
  samples.order_placed,
].map((s) => new TextEncoder().encode(line(s)))
const N = 500_000
const decoder = new TextDecoder()

const time = (f: (v: Uint8Array) => unknown): number => {
  const t = performance.now()
  for (let i = 0; i < N; i++) f(mix[i % mix.length]!)
  return N / ((performance.now() - t) / 1000)
}
time((v) => validate({ value: v, timestamp: RECORD_TS })) // warm-up
const parse = time((v) => JSON.parse(decoder.decode(v)))
const full = time((v) => validate({ value: v, timestamp: RECORD_TS }))
console.log(`JSON.parse  ${Math.round(parse).toLocaleString("en-US")} events/s`)
console.log(
  `validate()  ${Math.round(full).toLocaleString("en-US")} events/s (${((full / parse) * 100).toFixed(0)}% of JSON.parse)`,
)
