import type { ConsumedRecord } from "../Broker.ts"

/**
 * kafkajs pushes batches (eachBatch); the Broker's Consumer is poll-based. This bounded buffer sits between:
 * eachBatch waits while it is full (so kafkajs stops fetching, like Java's max.poll.records), poll takes from
 * it. It also remembers, per partition, the next offset it expects, which makes it immune to the duplicates a
 * rejoin or a consumer restart would replay and lets a seek discard what was fetched before it.
 */
export class PollBridge {
  private queue: Array<ConsumedRecord> = []
  private head = 0
  private readonly dataWaiters = new Set<() => void>()
  private readonly spaceWaiters = new Set<() => void>()
  /** Next offset to accept per "topic/partition"; absent: accept what the group's position gives. */
  readonly expected = new Map<string, number>()

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.queue.length - this.head
  }

  get full(): boolean {
    return this.size >= this.capacity
  }

  /** Adds a fetched batch of one partition, skipping anything before the expected offset. */
  push(topic: string, partition: number, records: ReadonlyArray<ConsumedRecord>): void {
    const key = `${topic}/${partition}`
    const from = this.expected.get(key)
    let added = false
    for (const r of records) {
      if (from !== undefined && r.offset < from) continue
      this.queue.push(r)
      added = true
    }
    const last = records.at(-1)
    if (last !== undefined) this.expected.set(key, Math.max(from ?? 0, last.offset + 1))
    if (added) wake(this.dataWaiters)
  }

  take(max: number): Array<ConsumedRecord> {
    const n = Math.min(max, this.size)
    const out = this.queue.slice(this.head, this.head + n)
    this.head += n
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    if (n > 0) wake(this.spaceWaiters)
    return out
  }

  /** Forgets buffered records of the partitions `drop` selects (seek, lost partitions). */
  discard(drop: (topic: string, partition: number) => boolean): void {
    this.queue = this.queue.slice(this.head).filter((r) => !drop(r.topic, r.partition))
    this.head = 0
    wake(this.spaceWaiters)
  }

  /** Resolves when records arrive or after `ms`; the returned function cancels. */
  onData(ms: number, f: () => void): () => void {
    return waitOn(this.dataWaiters, ms, f)
  }

  onSpace(ms: number, f: () => void): () => void {
    return waitOn(this.spaceWaiters, ms, f)
  }

  /** Wakes every waiter (shutdown, failure). */
  wakeAll(): void {
    wake(this.dataWaiters)
    wake(this.spaceWaiters)
  }
}

const wake = (waiters: Set<() => void>) => {
  for (const w of [...waiters]) w()
}

const waitOn = (waiters: Set<() => void>, ms: number, f: () => void): (() => void) => {
  let done = false
  const finish = () => {
    if (done) return
    done = true
    clearTimeout(timer)
    waiters.delete(finish)
    f()
  }
  const timer = setTimeout(finish, Math.max(0, ms))
  waiters.add(finish)
  return () => {
    done = true
    clearTimeout(timer)
    waiters.delete(finish)
  }
}
