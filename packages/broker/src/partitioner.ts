/**
 * Kafka's default partitioner: murmur2 of the key bytes, made positive, modulo the partition count. The same as
 * the Java client and kafkajs 2's DefaultPartitioner, so a key lands on the same partition on every broker.
 */
const SEED = 0x9747b28c
const M = 0x5bd1e995
const encoder = new TextEncoder()

export const murmur2 = (key: string | Uint8Array): number => {
  const data = typeof key === "string" ? encoder.encode(key) : key
  const length = data.length
  let h = SEED ^ length
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length & ~3
  const rest = length & 3
  if (rest === 3) h ^= data[tail + 2]! << 16
  if (rest >= 2) h ^= data[tail + 1]! << 8
  if (rest >= 1) {
    h ^= data[tail]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

export const partitionForKey = (key: string | Uint8Array, partitions: number): number =>
  (murmur2(key) & 0x7fffffff) % partitions
