/**
 * Splits a byte stream into lines without decoding it, so every byte of a line reaches the broker unchanged
 * (invalid UTF-8 included: the stream processor, not the producer, decides what is valid).
 * Only the "\n" terminator is removed; a "\r" before it stays part of the record.
 */
export async function* byteLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array = new Uint8Array(0)
  for await (const chunk of chunks) {
    let buf = chunk
    if (carry.length > 0) {
      buf = new Uint8Array(carry.length + chunk.length)
      buf.set(carry, 0)
      buf.set(chunk, carry.length)
    }
    let start = 0
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      yield buf.subarray(start, nl)
      start = nl + 1
    }
    // Copy the remainder: the caller may reuse or release the chunk.
    carry = buf.slice(start)
  }
  if (carry.length > 0) yield carry
}
