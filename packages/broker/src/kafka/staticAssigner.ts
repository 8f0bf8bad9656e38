import { AssignerProtocol, type PartitionAssigner } from "kafkajs"

/**
 * kafkajs has no `assign()`, so static assignment goes through the group: every member of a group announces
 * the partitions it wants (userData), and whichever member leads the group hands each member exactly those.
 * Members that ask for nothing in particular share the partitions nobody claimed, round-robin. A partition
 * claimed twice stays with the member that holds it already (each member also announces what it holds), else
 * goes to the first claimant by member id; the other finds it missing after the join (GroupBusy), so a second
 * process never takes partitions away from a live one.
 */
export const STATIC_ASSIGNER_NAME = "ShopStaticAssigner"

type Claims = Record<string, ReadonlyArray<number>>

interface Wants {
  /** The partitions asked for; undefined: anything. */
  readonly claims?: Claims
  /** The partitions held since the last join. */
  readonly held?: Claims
}

const encodeWants = (wants: Wants) => Buffer.from(JSON.stringify(wants))

const decodeWants = (userData: Buffer | null | undefined): Wants => {
  if (userData === null || userData === undefined || userData.length === 0) return {}
  try {
    return JSON.parse(userData.toString("utf8")) as Wants
  } catch {
    return {}
  }
}

/** The assigner for one member; `claims` is what this member asks for (undefined: anything), `held` what it owns now. */
export const staticAssigner =
  (claims: Claims | undefined, held: () => Claims = () => ({})): PartitionAssigner =>
  ({ cluster }) => ({
    name: STATIC_ASSIGNER_NAME,
    version: 1,
    protocol: ({ topics }) => ({
      name: STATIC_ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: encodeWants(claims === undefined ? { held: held() } : { claims, held: held() }),
      }),
    }),
    assign: async ({ members, topics }) => {
      const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))
      const wants = new Map(
        sorted.map((m) => [
          m.memberId,
          decodeWants(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData),
        ]),
      )
      const result = new Map<string, Record<string, Array<number>>>(sorted.map((m) => [m.memberId, {}]))
      for (const topic of topics) {
        const all = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId)
        const taken = new Set<number>()
        const give = (memberId: string, partitions: ReadonlyArray<number>) => {
          for (const p of partitions) taken.add(p)
          const assignment = result.get(memberId)!
          assignment[topic] = [...(assignment[topic] ?? []), ...partitions].sort((a, b) => a - b)
        }
        // First what a claimant already holds and still claims, then the other claims by member id.
        for (const m of sorted) {
          const w = wants.get(m.memberId)!
          const claimed = w.claims?.[topic]
          if (claimed === undefined) continue
          give(
            m.memberId,
            claimed.filter((p) => all.includes(p) && !taken.has(p) && (w.held?.[topic] ?? []).includes(p)),
          )
        }
        for (const m of sorted) {
          const claimed = wants.get(m.memberId)!.claims?.[topic]
          if (claimed === undefined) continue
          give(
            m.memberId,
            claimed.filter((p) => all.includes(p) && !taken.has(p)),
          )
          result.get(m.memberId)![topic] ??= []
        }
        const free = all.filter((p) => !taken.has(p)).sort((a, b) => a - b)
        const open = sorted.filter((m) => wants.get(m.memberId)!.claims === undefined)
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
