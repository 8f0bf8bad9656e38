import { closeSync, openSync, readSync, unlinkSync } from "node:fs"
import { writeFileAll } from "@shop/fsio"

/** Bits per id of a run's Bloom filter and its hash count: about 0.8% false positives. */
const BITS_PER_ID = 10
const HASHES = 7

const mix1 = (a: number, b: number, c: number, d: number) =>
  (Math.imul(a ^ c, 0x9e3779b1) ^ Math.imul(b ^ d, 0x85ebca6b)) >>> 0
const mix2 = (a: number, b: number, c: number, d: number) =>
  ((Math.imul(b ^ a, 0xc2b2ae35) ^ Math.imul(d ^ c, 0x27d4eb2f)) | 1) >>> 0

/** Unsigned comparison of two ids given as four 32-bit words each. */
const compare = (x: Uint32Array, i: number, a: number, b: number, c: number, d: number) =>
  x[i]! !== a ? x[i]! - a : x[i + 1]! !== b ? x[i + 1]! - b : x[i + 2]! !== c ? x[i + 2]! - c : x[i + 3]! - d

/**
 * An immutable, sorted file of ids (16 bytes each) with an in-memory Bloom filter: about 1.25 bytes of memory
 * per id instead of ~30. A lookup touches the file only when the filter says "maybe" (under 1% of new ids),
 * then binary-searches it with 16-byte reads.
 */
export class IdRun {
  private readonly bloom: Uint32Array
  private readonly bits: number
  private fd: number
  private readonly probe = new Uint32Array(4)

  /** `words` holds `count` ids as 4 words each, sorted ascending (unsigned). */
  constructor(
    readonly path: string,
    words: Uint32Array,
    readonly count: number,
  ) {
    // Whole or an FsWriteError (a full disk: ENOSPC): a short run file would make ids vanish from the search.
    // Not fsynced: the spill directory is a cache rebuilt at every start.
    writeFileAll(path, new Uint8Array(words.buffer, words.byteOffset, count * 16), { fsync: false })
    this.fd = openSync(path, "r")
    this.bits = Math.max(64, count * BITS_PER_ID)
    this.bloom = new Uint32Array(Math.ceil(this.bits / 32))
    for (let i = 0; i < count; i++) {
      const w = i * 4
      this.addToBloom(words[w]!, words[w + 1]!, words[w + 2]!, words[w + 3]!)
    }
  }

  private addToBloom(a: number, b: number, c: number, d: number) {
    const h1 = mix1(a, b, c, d)
    const h2 = mix2(a, b, c, d)
    for (let k = 0; k < HASHES; k++) {
      const bit = ((h1 + Math.imul(k, h2)) >>> 0) % this.bits
      this.bloom[bit >>> 5]! |= 1 << (bit & 31)
    }
  }

  has(a: number, b: number, c: number, d: number): boolean {
    const h1 = mix1(a, b, c, d)
    const h2 = mix2(a, b, c, d)
    for (let k = 0; k < HASHES; k++) {
      const bit = ((h1 + Math.imul(k, h2)) >>> 0) % this.bits
      if ((this.bloom[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
    }
    let lo = 0
    let hi = this.count - 1
    const bytes = new Uint8Array(this.probe.buffer)
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      readSync(this.fd, bytes, 0, 16, mid * 16)
      const cmp = compare(this.probe, 0, a, b, c, d)
      if (cmp === 0) return true
      if (cmp < 0) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
    try {
      unlinkSync(this.path)
    } catch {
      // already gone
    }
  }
}

/** Sorts `count` ids (4 words each) ascending, unsigned, into a new array. */
export const sortIds = (words: Uint32Array, count: number): Uint32Array => {
  const order = new Uint32Array(count)
  for (let i = 0; i < count; i++) order[i] = i
  order.sort((x, y) => {
    const i = x * 4
    const j = y * 4
    return compare(words, i, words[j]!, words[j + 1]!, words[j + 2]!, words[j + 3]!)
  })
  const out = new Uint32Array(count * 4)
  for (let k = 0; k < count; k++) out.set(words.subarray(order[k]! * 4, order[k]! * 4 + 4), k * 4)
  return out
}
