/**
 * The on-disk record: a fixed 32-byte header, then key and value bytes.
 *
 *   u32 length     bytes after this field (crc .. end of value)
 *   u32 crc32      of the bytes after this field
 *   u32 offsetHi, u32 offsetLo
 *   f64 timestamp  epoch ms (CreateTime)
 *   i32 keyLength  -1 for a null key
 *   u32 valueLength
 *   key, value
 *
 * The checksum lets recovery tell a torn tail (a crash mid-write) from a whole record.
 */
export const HEADER_BYTES = 32
const AFTER_LENGTH = 28

export interface StoredRecord {
  readonly offset: number
  readonly timestamp: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array
}

export interface EncodedInput {
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestamp: number
}

export const encodedSize = (r: EncodedInput): number => HEADER_BYTES + (r.key?.length ?? 0) + r.value.length

// Reused between batches: a fresh multi-MB buffer per batch costs page faults and GC (appends are synchronous,
// so one buffer per process is enough). Batches above the cap get their own buffer, so a rare huge batch
// does not pin its memory for the life of the process.
const SCRATCH_CAP = 16 * 1024 * 1024
let scratch = new Uint8Array(0)

/**
 * Encodes records with consecutive offsets from `firstOffset` into one buffer (one write, one fsync).
 * The result may be a view into a shared scratch buffer: use it before the next call.
 */
export const encodeRecords = (records: ReadonlyArray<EncodedInput>, firstOffset: number): Uint8Array => {
  let total = 0
  for (const r of records) total += encodedSize(r)
  let buf: Uint8Array
  if (total > SCRATCH_CAP) buf = new Uint8Array(total)
  else {
    if (scratch.length < total) scratch = new Uint8Array(Math.min(SCRATCH_CAP, Math.max(total, scratch.length * 2)))
    buf = scratch
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const offset = firstOffset + i
    const keyLength = r.key === null ? -1 : r.key.length
    const size = encodedSize(r)
    view.setUint32(pos, size - 4)
    view.setUint32(pos + 8, Math.floor(offset / 0x100000000))
    view.setUint32(pos + 12, offset >>> 0)
    view.setFloat64(pos + 16, r.timestamp)
    view.setInt32(pos + 24, keyLength)
    view.setUint32(pos + 28, r.value.length)
    let p = pos + HEADER_BYTES
    if (r.key !== null) {
      buf.set(r.key, p)
      p += r.key.length
    }
    buf.set(r.value, p)
    view.setUint32(pos + 4, Bun.hash.crc32(buf.subarray(pos + 8, pos + size)))
    pos += size
  }
  return buf.subarray(0, total)
}

export type DecodeStop = "end" | "incomplete" | "corrupt"

/**
 * Decodes whole records from `buf` starting at `pos`. Returned values are views into `buf` (no copy).
 * Stops at the end of the buffer, at an incomplete record (not yet or never fully written) or at a corrupt one.
 */
export const decodeRecords = (
  buf: Uint8Array,
  pos: number,
  onRecord: (r: StoredRecord, start: number, end: number) => boolean | undefined,
): { readonly next: number; readonly stop: DecodeStop } => {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  while (pos < buf.length) {
    if (buf.length - pos < HEADER_BYTES) return { next: pos, stop: "incomplete" }
    const length = view.getUint32(pos)
    if (length < AFTER_LENGTH) return { next: pos, stop: "corrupt" }
    const end = pos + 4 + length
    if (end > buf.length) return { next: pos, stop: "incomplete" }
    const keyLength = view.getInt32(pos + 24)
    const valueLength = view.getUint32(pos + 28)
    if (HEADER_BYTES + Math.max(keyLength, 0) + valueLength !== length + 4 || keyLength < -1) {
      return { next: pos, stop: "corrupt" }
    }
    if (Bun.hash.crc32(buf.subarray(pos + 8, end)) !== view.getUint32(pos + 4)) return { next: pos, stop: "corrupt" }
    const offset = view.getUint32(pos + 8) * 0x100000000 + view.getUint32(pos + 12)
    const keyStart = pos + HEADER_BYTES
    const valueStart = keyStart + Math.max(keyLength, 0)
    const record: StoredRecord = {
      offset,
      timestamp: view.getFloat64(pos + 16),
      key: keyLength < 0 ? null : buf.subarray(keyStart, valueStart),
      value: buf.subarray(valueStart, end),
    }
    const stop = onRecord(record, pos, end)
    pos = end
    if (stop === true) return { next: pos, stop: "end" }
  }
  return { next: pos, stop: "end" }
}
