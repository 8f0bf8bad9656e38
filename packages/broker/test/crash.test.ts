import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Broker, layerEmbeddedAt } from "../src/index.ts"

const dir = mkdtempSync(join(tmpdir(), "broker-crash-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ROUNDS = 24

const readAll = (partition: number) =>
  Effect.gen(function* () {
    const broker = yield* Broker
    const consumer = yield* broker.consumer({ groupId: `verify-${Math.random()}`, topics: ["t"], fromBeginning: true })
    const [end] = (yield* broker.endOffsets("t")).filter((e) => e.partition === partition)
    yield* consumer.seek({ topic: "t", partition: partition === 0 ? 1 : 0, offset: Number.MAX_SAFE_INTEGER })
    const out = new Map<number, string>()
    while (out.size < end!.offset) {
      const records = yield* consumer.poll({ maxRecords: 10_000, maxWaitMs: 10 })
      if (records.length === 0) break
      for (const r of records) if (r.partition === partition) out.set(r.offset, new TextDecoder().decode(r.value))
    }
    return { end: end!.offset, records: out }
  }).pipe(Effect.scoped)

test(`kill -9 of a producing process, ${ROUNDS} times, never loses an acknowledged record nor breaks the log`, async () => {
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* (yield* Broker).createTopic({ name: "t", partitions: 2 })
    }).pipe(Effect.provide(layerEmbeddedAt(dir))),
  )
  const acked: Array<{ partition: number; first: number; count: number; tag: string }> = []
  for (let round = 0; round < ROUNDS; round++) {
    const child = Bun.spawn(["bun", join(import.meta.dir, "fixtures", "crashProducer.ts"), dir, String(round)], {
      stdout: "pipe",
      stderr: "inherit",
    })
    const reader = (async () => {
      let text = ""
      for await (const chunk of child.stdout) text += new TextDecoder().decode(chunk)
      return text
    })()
    await Bun.sleep(150 + Math.random() * 300)
    child.kill("SIGKILL")
    await child.exited
    for (const line of (await reader).split("\n")) {
      const [word, partition, first, count, tag] = line.split(" ")
      if (word === "ack")
        acked.push({ partition: Number(partition), first: Number(first), count: Number(count), tag: tag! })
    }
  }
  expect(acked.length).toBeGreaterThan(ROUNDS) // the children really produced between kills

  // The log opens, offsets are dense, and every acknowledged record is there with its exact bytes.
  await Effect.runPromise(
    Effect.gen(function* () {
      for (const partition of [0, 1]) {
        const { end, records } = yield* readAll(partition)
        expect(records.size).toBe(end)
        for (let o = 0; o < end; o++) expect(records.has(o)).toBe(true)
        for (const a of acked.filter((a) => a.partition === partition)) {
          for (let i = 0; i < a.count; i++) {
            expect(records.get(a.first + i)).toBe(`${a.tag}:${i}:${"p".repeat((i * 13) % 300)}`)
          }
        }
      }
      // The group's offsets file was never torn: it parses and points inside the log.
      const committed = yield* (yield* Broker).committedOffsets("crash-group", "t")
      expect(committed.length).toBe(2)
      const ends = yield* (yield* Broker).endOffsets("t")
      for (const c of committed) expect(c.offset).toBeLessThanOrEqual(ends[c.partition]!.offset)
    }).pipe(Effect.provide(layerEmbeddedAt(dir))),
  )
  const offsetsFile = join(dir, "groups", "crash-group", "offsets.json")
  expect(() => JSON.parse(readFileSync(offsetsFile, "utf8"))).not.toThrow()
}, 120_000)
