import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { dirname } from "node:path"
import { Broker, type BrokerError, BrokerUnavailable, type PartitionOffset } from "@shop/broker"
import { type DlqRecord, TOPIC_DLQ } from "@shop/contract"
import { writeFileDurably } from "@shop/fsio"
import { lakeError, lakeLayout } from "@shop/lake"
import { Effect } from "effect"

const encoder = new TextEncoder()

/** The key of a DLQ topic record: its source record, so a repeat can be recognised. */
export const dlqKey = (d: DlqRecord) => `${d.source.topic}:${d.source.partition}:${d.source.offset}`

/**
 * The value of a DLQ topic record, at most `maxBytes` once encoded (JSON escaping can make a payload of
 * control bytes six times longer). A payload that does not fit is cut, and says so; the whole of it is
 * always in bronze/dlq.
 */
export const dlqTopicValue = (d: DlqRecord, maxBytes: number): Uint8Array => {
  const whole = encoder.encode(JSON.stringify(d))
  if (whole.byteLength <= maxBytes) return whole
  const { payload_base64: _, ...rest } = d
  const cut = (chars: number) =>
    encoder.encode(
      JSON.stringify({
        ...rest,
        payload: d.payload.slice(0, chars),
        payload_truncated: {
          original_bytes: whole.byteLength,
          original_chars: d.payload.length,
          kept_chars: chars,
          full_copy: "bronze/dlq in the lake (payload, payload_base64)",
        },
      }),
    )
  // The longest prefix that fits (escaping is not linear in characters, so search).
  let lo = 0
  let hi = d.payload.length
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (cut(mid).byteLength <= maxBytes) lo = mid
    else hi = mid - 1
  }
  return cut(lo)
}

interface Pending {
  readonly from: number
  readonly to: number
  /** events.dlq end offsets just before the produce. */
  readonly dlqEnds: ReadonlyArray<PartitionOffset>
}

/**
 * Makes events.dlq exactly once across crashes. Before a batch's DLQ records are produced, the processor notes
 * durably which source offsets they are for and where events.dlq ended. If it dies before the lake commit,
 * the restart reads events.dlq from there and skips producing what is already on it (records are keyed by
 * their source record). A note for a committed batch is simply stale.
 */
export class DlqOutbox {
  constructor(
    private readonly root: string,
    private readonly topic: string,
  ) {}

  private path(partition: number) {
    return lakeLayout.dlqPendingPath(this.root, this.topic, partition)
  }

  /** Notes the produce about to happen (durably: write, fsync, rename, fsync the directory). */
  note(partition: number, pending: Pending) {
    return Effect.try({
      try: () => {
        const path = this.path(partition)
        mkdirSync(dirname(path), { recursive: true })
        writeFileDurably(path, JSON.stringify(pending))
      },
      catch: (cause) => lakeError("noting a DLQ produce", cause, { root: this.root }),
    })
  }

  /** Source offsets of `partition` at or after `nextOffset` whose DLQ record is on events.dlq already. */
  alreadyProduced(partition: number, nextOffset: number, groupId: string) {
    const path = this.path(partition)
    const topic = this.topic
    return Effect.gen(function* () {
      const done = new Set<number>()
      if (!existsSync(path)) return done
      const pending = JSON.parse(readFileSync(path, "utf8")) as Pending
      if (pending.to < nextOffset) return done
      const broker = yield* Broker
      const ends = yield* broker.endOffsets(TOPIC_DLQ)
      const from = new Map(pending.dlqEnds.map((e) => [e.partition, e.offset]))
      const toRead = ends.filter((e) => e.offset > (from.get(e.partition) ?? 0))
      if (toRead.length === 0) return done
      const prefix = `${topic}:${partition}:`
      yield* Effect.scoped(
        Effect.gen(function* () {
          const consumer = yield* broker.consumer({
            groupId: `${groupId}.dlq-recovery.${partition}`,
            topics: [TOPIC_DLQ],
            fromBeginning: true,
            partitions: toRead.map((e) => e.partition),
          })
          const left = new Map(toRead.map((e) => [e.partition, e.offset]))
          for (const e of toRead) {
            yield* consumer.seek({ topic: TOPIC_DLQ, partition: e.partition, offset: from.get(e.partition) ?? 0 })
          }
          for (let empty = 0; left.size > 0; ) {
            const got = yield* consumer.poll({ maxRecords: 1000, maxWaitMs: 500 })
            if (got.length > 0) empty = 0
            else if (++empty >= 60) {
              return yield* new BrokerUnavailable({
                message: `events.dlq did not deliver up to its end offsets in 30 s while checking what a crash left on it; is the broker healthy?`,
              })
            }
            for (const r of got) {
              if (r.key?.startsWith(prefix)) done.add(Number(r.key.slice(prefix.length)))
              if (r.offset + 1 >= (left.get(r.partition) ?? 0)) left.delete(r.partition)
            }
          }
        }),
      )
      return done
    }) as Effect.Effect<Set<number>, BrokerError, Broker>
  }
}
