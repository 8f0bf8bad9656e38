import { Cause, Clock, Duration, Effect, Option, Queue } from "effect"
import type { ConsumedRecord } from "../Broker.ts"
import type { BrokerError } from "../BrokerError.ts"

/** A fetched record and the generation of its partition when it was fetched (see `discard`). */
interface Fetched {
  readonly record: ConsumedRecord
  readonly generation: number
}

const keyOf = (topic: string, partition: number) => `${topic}/${partition}`

/**
 * kafkajs pushes batches (eachBatch); the Broker's Consumer is poll-based. Between them an Effect bounded
 * `Queue` of records: eachBatch waits until its batch is in (so kafkajs stops fetching, like Java's
 * max.poll.records), poll takes from it. Per partition it remembers the next offset it expects, which makes it
 * immune to the duplicates a rejoin or a consumer restart would replay, and a generation: a seek or a lost
 * partition starts a new one, and records fetched under an older one are dropped when taken.
 */
export class PollBridge {
  /** Next offset to accept per "topic/partition"; absent: accept what the group's position gives. */
  readonly expected = new Map<string, number>()
  private readonly generations = new Map<string, number>()

  private constructor(private readonly queue: Queue.Queue<Fetched, BrokerError>) {}

  static make(capacity: number): Effect.Effect<PollBridge> {
    return Queue.bounded<Fetched, BrokerError>(capacity).pipe(Effect.map((queue) => new PollBridge(queue)))
  }

  get size(): number {
    return Queue.sizeUnsafe(this.queue)
  }

  /**
   * Adds a fetched batch of one partition, skipping anything before the expected offset; resolves once all of
   * it is in the queue, calling `heartbeat` every second while it waits for room (the group must not think
   * the member died).
   */
  async offer(
    topic: string,
    partition: number,
    records: ReadonlyArray<ConsumedRecord>,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const key = keyOf(topic, partition)
    const from = this.expected.get(key)
    const generation = this.generations.get(key) ?? 0
    this.generations.set(key, generation)
    const fetched: Array<Fetched> = []
    for (const record of records) if (from === undefined || record.offset >= from) fetched.push({ record, generation })
    const last = records.at(-1)
    if (last !== undefined) this.expected.set(key, Math.max(from ?? 0, last.offset + 1))
    if (fetched.length === 0) return
    let admitted = false
    const offering = Effect.runPromise(Queue.offerAll(this.queue, fetched)).then(() => {
      admitted = true
    })
    while (!admitted) {
      await Promise.race([offering, Bun.sleep(1_000)])
      if (!admitted) await heartbeat()
    }
  }

  /** Up to `max` records, waiting at most `maxWaitMs` for the first; fails once the consumer failed. */
  take(max: number, maxWaitMs: number): Effect.Effect<Array<ConsumedRecord>, BrokerError> {
    const queue = this.queue
    const current = (f: Fetched) => this.generations.get(keyOf(f.record.topic, f.record.partition)) === f.generation
    return Effect.gen(function* () {
      const deadline = (yield* Clock.currentTimeMillis) + Math.max(0, maxWaitMs)
      for (;;) {
        const wait = deadline - (yield* Clock.currentTimeMillis)
        if (wait <= 0 && Queue.sizeUnsafe(queue) === 0) return []
        const taken = yield* Queue.takeBetween(queue, 1, max).pipe(
          Effect.timeoutOption(Duration.millis(Math.max(0, wait))),
        )
        if (Option.isNone(taken)) return []
        const records = taken.value.filter(current).map((f) => f.record)
        if (records.length > 0 || (yield* Clock.currentTimeMillis) >= deadline) return records
      }
    })
  }

  /** Forgets fetched records of the partitions `drop` selects (seek, lost partitions). */
  discard(drop: (topic: string, partition: number) => boolean): void {
    for (const [key, generation] of this.generations) {
      const at = key.lastIndexOf("/")
      if (drop(key.slice(0, at), Number(key.slice(at + 1)))) this.generations.set(key, generation + 1)
    }
  }

  /** The consumer failed: a waiting or later take fails with `error`. */
  fail(error: BrokerError): void {
    Queue.failCauseUnsafe(this.queue, Cause.fail(error))
  }

  /** Shutdown: pending offers return, nothing more is queued. */
  close(): void {
    Queue.shutdownUnsafe(this.queue)
  }
}
