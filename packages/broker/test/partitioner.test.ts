import { expect, setDefaultTimeout, test } from "bun:test"
import { murmur2, partitionForKey } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

// Expected hashes from Apache Kafka's own tests (UtilsTest.testMurmur2) and the Java client's Utils.murmur2:
// matching them means a key lands on the same partition here, on kafkajs' default partitioner and on Java.
const KAFKA_VECTORS: ReadonlyArray<readonly [string, number]> = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
  ["1", -1993445489],
  ["12", 126087238],
  ["123", -267702483],
  ["1234", -1614185708],
  ["12345", -1188365604],
]

test("murmur2 matches Kafka's test vectors (every tail length 0..3)", () => {
  for (const [key, hash] of KAFKA_VECTORS) expect([key, murmur2(key)]).toEqual([key, hash])
})

test("strings hash as their UTF-8 bytes", () => {
  const key = "session-é✓"
  expect(murmur2(key)).toBe(murmur2(new TextEncoder().encode(key)))
})

test("partition = toPositive(murmur2) % partitions, as Kafka's default partitioner", () => {
  // toPositive masks the sign bit (it is not Math.abs): -973932308 & 0x7fffffff = 1173551340.
  expect(partitionForKey("21", 3)).toBe(1173551340 % 3)
  expect(partitionForKey("abc", 7)).toBe(479470107 % 7)
  for (let i = 0; i < 1000; i++) {
    const p = partitionForKey(`key-${i}`, 3)
    expect(p >= 0 && p < 3).toBe(true)
  }
})
