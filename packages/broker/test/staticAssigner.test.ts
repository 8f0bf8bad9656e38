/** The static assigner alone, over a fake kafkajs cluster (no Kafka needed). */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { AssignerProtocol, type Cluster, type GroupMember, type Logger } from "kafkajs"
import { STATIC_ASSIGNER_NAME, staticAssigner } from "../src/kafka/staticAssigner.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/** A cluster whose metadata has no partitions of the topic until the `emptyFor`-th refresh. */
const fakeCluster = (partitions: number, emptyFor: number) => {
  let refreshes = 0
  const cluster = {
    findTopicPartitionMetadata: () =>
      refreshes < emptyFor ? [] : Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })),
    refreshMetadata: async () => {
      refreshes++
    },
  }
  return { cluster: cluster as unknown as Cluster, refreshes: () => refreshes }
}

const member = (memberId: string, claims?: Record<string, Array<number>>): GroupMember => ({
  memberId,
  memberMetadata: AssignerProtocol.MemberMetadata.encode({
    version: 1,
    topics: ["t"],
    userData: Buffer.from(JSON.stringify(claims === undefined ? {} : { claims })),
  }),
})

const assignmentOf = (a: { memberAssignment: Buffer }) =>
  AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment ?? {}

describe("staticAssigner", () => {
  test("metadata without the topic's partitions (a topic just created): refreshed, logged, then assigned", async () => {
    const fake = fakeCluster(3, 2)
    const lines: Array<string> = []
    const assigner = staticAssigner(undefined, () => ({}), { log: (l) => lines.push(l), delayMs: 1 })({
      cluster: fake.cluster,
      groupId: "g",
      logger: undefined as unknown as Logger,
    })
    expect(assigner.name).toBe(STATIC_ASSIGNER_NAME)
    const result = await assigner.assign({ members: [member("a"), member("b", { t: [1] })], topics: ["t"] })
    expect(fake.refreshes()).toBe(2)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain("consumer group g: the leader's metadata has no partitions of t yet")
    expect(result.map(assignmentOf)).toEqual([{ t: [0, 2] }, { t: [1] }])
  })

  test("partitions that never appear fail the assignment with one clear line instead of assigning nothing", async () => {
    const fake = fakeCluster(3, Number.POSITIVE_INFINITY)
    const assigner = staticAssigner(undefined, () => ({}), { log: () => {}, delayMs: 1, metadataRetries: 3 })({
      cluster: fake.cluster,
      groupId: "g",
      logger: undefined as unknown as Logger,
    })
    await expect(assigner.assign({ members: [member("a")], topics: ["t"] })).rejects.toThrow(
      "consumer group g: no partitions of t in the cluster metadata after 3 refreshes",
    )
    expect(fake.refreshes()).toBe(3)
  })
})
