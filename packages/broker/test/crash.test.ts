import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Broker, layerEmbeddedAt } from "../src/index.ts"
import { crashValue } from "./fixtures/crashProducer.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "broker-crash-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ROUNDS = 24
const PARTITIONS = [0, 1]
const decoder = new TextDecoder()

interface Ack {
  readonly partition: number
  readonly first: number
  readonly count: number
  readonly tag: string
}

/** Every record of every partition, by offset, read through a fresh broker (which also runs recovery). */
const readLog = Effect.gen(function* () {
  const broker = yield* Broker
  const ends = yield* broker.endOffsets("t")
  const consumer = yield* broker.consumer({ groupId: `verify-${Math.random()}`, topics: ["t"], fromBeginning: true })
  const logs = PARTITIONS.map(() => [] as Array<string>)
  const total = ends.reduce((sum, e) => sum + e.offset, 0)
  for (let read = 0; read < total; ) {
    const records = yield* consumer.poll({ maxRecords: 50_000, maxWaitMs: 10 })
    if (records.length === 0) break
    for (const r of records) {
      // Dense: each partition's records arrive as offsets 0, 1, 2, ...
      if (r.offset !== logs[r.partition]!.length) expect(`${r.partition}:${r.offset}`).toBe("the next offset")
      logs[r.partition]!.push(decoder.decode(r.value))
    }
    read += records.length
  }
  const committed = yield* broker.committedOffsets("crash-group", "t")
  return { ends: ends.map((e) => e.offset), logs, committed }
}).pipe(Effect.scoped, Effect.provide(layerEmbeddedAt(dir)))

const runChild = async (round: number, mode: "produce" | "commit") => {
  const child = Bun.spawn(["bun", join(import.meta.dir, "fixtures", "crashProducer.ts"), dir, String(round), mode], {
    stdout: "pipe",
    stderr: "inherit",
  })
  let text = ""
  let firstLine: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    firstLine = resolve
  })
  const reader = (async () => {
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk)
      if (text.includes("\n")) firstLine()
    }
    firstLine()
  })()
  // Kill it while it is busy: a random moment 20-300 ms after its first acknowledged step.
  await started
  await Bun.sleep(20 + Math.random() * 280)
  child.kill("SIGKILL")
  await child.exited
  await reader
  return text.split("\n").filter((l) => l !== "")
}

test(`kill -9 during produce and commit, ${ROUNDS} rounds: the log opens, acknowledged records and commits survive`, async () => {
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* (yield* Broker).createTopic({ name: "t", partitions: PARTITIONS.length })
    }).pipe(Effect.provide(layerEmbeddedAt(dir))),
  )
  const acked: Array<Ack> = []
  // Per partition: the committed offset as last verified, and the commit that may have been in flight.
  const lastCommitted = new Map<number, number>()
  let killedInCommit = 0
  let killedMidCommit = 0
  for (let round = 0; round < ROUNDS; round++) {
    const mode = round % 3 === 2 ? "commit" : "produce"
    let inFlight: { partition: number; offset: number } | undefined
    for (const line of await runChild(round, mode)) {
      const [word, a, b, c, tag] = line.split(" ")
      if (word === "ack") acked.push({ partition: Number(a), first: Number(b), count: Number(c), tag: tag! })
      if (word === "committing") inFlight = { partition: Number(a), offset: Number(b) }
      if (word === "committed") {
        lastCommitted.set(Number(a), Number(b))
        inFlight = undefined
      }
    }

    // After every kill: the log opens, offsets are dense, every acknowledged record is there byte for byte.
    const { ends, logs, committed } = await Effect.runPromise(readLog)
    PARTITIONS.forEach((p) => {
      expect(logs[p]!.length).toBe(ends[p]!)
    })
    const lost: Array<string> = []
    for (const a of acked) {
      for (let i = 0; i < a.count; i++) {
        if (logs[a.partition]![a.first + i] !== crashValue(a.tag, i)) lost.push(`${a.partition}:${a.first + i}`)
      }
    }
    expect(lost).toEqual([])
    // The offsets file is never torn: it parses, and holds the last acknowledged commit or the one in flight.
    const offsetsFile = join(dir, "groups", "crash-group", "offsets.json")
    const file = existsSync(offsetsFile) ? JSON.parse(readFileSync(offsetsFile, "utf8")) : {}
    if (inFlight !== undefined) killedInCommit++
    for (const p of PARTITIONS) {
      const now = committed.find((o) => o.partition === p)?.offset
      expect(file.t?.[String(p)]).toBe(now)
      const allowed = [lastCommitted.get(p)]
      if (inFlight?.partition === p) allowed.push(inFlight.offset)
      expect(allowed).toContain(now)
      if (inFlight?.partition === p && now !== lastCommitted.get(p)) killedMidCommit++
      if (now !== undefined) lastCommitted.set(p, now)
    }
  }
  // The children really worked between kills.
  expect(acked.length).toBeGreaterThan(ROUNDS)
  console.log(
    `crash test: ${acked.length} acknowledged batches; ${killedInCommit} kills inside commit(), ` +
      `${killedMidCommit} of them after the offsets file was swapped`,
  )
}, 60_000)
