/**
 * Which failures are the Broker's typed errors: what the system refuses (an errno: ENOSPC, EIO, ENOTDIR,
 * ECONNREFUSED; kafkajs' own errors) is a BrokerError a caller can act on (the stream processor retries
 * BrokerUnavailable, says "disk full" for ENOSPC); a bug (a TypeError, a RangeError) is a defect, which no
 * caller can handle and which must not be retried or reported as a disk problem.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { Broker, layerEmbeddedAt } from "../src/index.ts"
import { kafkaFailure } from "../src/kafka/kafkaErrors.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const embedded = <A, E>(f: (broker: Broker["Service"], dir: string) => Effect.Effect<A, E>) => {
  const dir = mkdtempSync(join(tmpdir(), "broker-errors-"))
  dirs.push(dir)
  return Effect.runPromiseExit(
    Effect.gen(function* () {
      const broker = yield* Broker
      yield* broker.createTopic({ name: "t", partitions: 1 })
      return yield* f(broker, dir)
    }).pipe(Effect.scoped, Effect.provide(layerEmbeddedAt(dir))),
  )
}

/** The typed failure of an exit, or undefined when it did not fail with one. */
const typedFailure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined

describe("embedded broker", () => {
  test("a bug in its own code (a TypeError: a null value got past the types) is a defect, not a storage error", async () => {
    const exit = await embedded((broker) => broker.produce("t", [{ key: null, value: null as unknown as string }]))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) {
      expect(Cause.hasDies(exit.cause)).toBe(true)
      expect(Cause.hasFails(exit.cause)).toBe(false)
    }
  })

  test("what the system refuses (ENOTDIR: the partition's directory is a file) is a typed BrokerStorageError naming it", async () => {
    const exit = await embedded((broker, dir) =>
      Effect.gen(function* () {
        writeFileSync(join(dir, "topics", "t", "0"), "in the way")
        return yield* broker.produce("t", [{ key: null, value: "v" }])
      }),
    )
    const failure = typedFailure(exit)
    expect(failure?._tag).toBe("Some")
    if (failure?._tag === "Some") {
      expect((failure.value as { _tag: string })._tag).toBe("BrokerStorageError")
      expect((failure.value as Error).message).toContain("ENOTDIR")
    }
  })
})

describe("Kafka layer's classification", () => {
  const classify = (cause: unknown) => Effect.runSyncExit(kafkaFailure("produce to t", cause, "t"))

  test("kafkajs' own errors and errno failures are typed", () => {
    const connection = Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9092"), {
      name: "KafkaJSConnectionError",
    })
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9092"), { code: "ECONNREFUSED" })
    const tooLarge = Object.assign(new Error("The request included a message larger than the max message size"), {
      name: "KafkaJSProtocolError",
      type: "MESSAGE_TOO_LARGE",
    })
    const unknownTopic = Object.assign(new Error("This server does not host this topic-partition"), {
      name: "KafkaJSProtocolError",
      type: "UNKNOWN_TOPIC_OR_PARTITION",
    })
    const tags = [connection, refused, tooLarge, unknownTopic].map((cause) => {
      const failure = typedFailure(classify(cause))
      return failure?._tag === "Some" ? (failure.value as { _tag: string })._tag : "not typed"
    })
    expect(tags).toEqual(["BrokerUnavailable", "BrokerUnavailable", "RecordRejected", "TopicNotFound"])
  })

  test("a TypeError from our code is a defect, not BrokerUnavailable (which the processor would retry for 5 minutes)", () => {
    const exit = classify(new TypeError("Cannot read properties of undefined (reading 'partition')"))
    expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause) && !Cause.hasFails(exit.cause)).toBe(true)
  })
})
