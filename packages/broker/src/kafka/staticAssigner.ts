import { AssignerProtocol, type PartitionAssigner } from "kafkajs"

/**
 * kafkajs has no `assign()`, so static assignment goes through the group: every member of a group announces
 * the partitions it wants (userData), and whichever member leads the group hands each member exactly those.
 * Members that ask for nothing in particular share the partitions nobody claimed, round-robin. A partition
 * claimed twice goes to the first claimant (by member id); the other finds it missing after the join.
 */
export const STATIC_ASSIGNER_NAME = "ShopStaticAssigner"

type Claims = Record<string, ReadonlyArray<number>>

const encodeClaims = (claims: Claims | undefined) => Buffer.from(claims === undefined ? "" : JSON.stringify(claims))

const decodeClaims = (userData: Buffer | null | undefined): Claims | undefined => {
  if (userData === null || userData === undefined || userData.length === 0) return undefined
  try {
    return JSON.parse(userData.toString("utf8")) as Claims
  } catch {
    return undefined
  }
}

/** The assigner for one member; `claims` is what this member asks for (undefined: anything). */
export const staticAssigner =
  (claims: Claims | undefined): PartitionAssigner =>
  ({ cluster }) => ({
    name: STATIC_ASSIGNER_NAME,
    version: 1,
    protocol: ({ topics }) => ({
      name: STATIC_ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: encodeClaims(claims) }),
    }),
    assign: async ({ members, topics }) => {
      const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))
      const wants = new Map(
        sorted.map((m) => [
          m.memberId,
          decodeClaims(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData),
        ]),
      )
      const result = new Map<string, Record<string, Array<number>>>(sorted.map((m) => [m.memberId, {}]))
      for (const topic of topics) {
        const all = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId)
        const taken = new Set<number>()
        for (const m of sorted) {
          const claimed = wants.get(m.memberId)?.[topic]
          if (claimed === undefined) continue
          const mine = claimed.filter((p) => all.includes(p) && !taken.has(p))
          for (const p of mine) taken.add(p)
          result.get(m.memberId)![topic] = mine
        }
        const free = all.filter((p) => !taken.has(p)).sort((a, b) => a - b)
        const open = sorted.filter((m) => wants.get(m.memberId) === undefined)
        free.forEach((p, i) => {
          if (open.length === 0) return
          const assignment = result.get(open[i % open.length]!.memberId)!
          assignment[topic] = [...(assignment[topic] ?? []), p]
        })
      }
      return sorted.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: result.get(m.memberId)!,
          userData: Buffer.alloc(0),
        }),
      }))
    },
  })
