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

export interface AssignerOptions {
  /** Where a line goes when the leader has no partition metadata for a subscribed topic (default stderr). */
  readonly log?: (line: string) => void
  /** Metadata refreshes before the assignment fails (default 20, `delayMs` apart). */
  readonly metadataRetries?: number
  readonly delayMs?: number
}

/**
 * The assigner for one member; `claims` is what this member asks for (undefined: anything), `held` what it owns now.
 * The leader assigns from its own cluster metadata. A member that joined just after a topic was created may have
 * no partitions of it in that metadata yet (kafkajs refreshes it every 5 minutes): assigning from it would give
 * every member nothing, silently. So a subscribed topic without partitions makes the leader refresh its
 * metadata and retry, saying so on a line each time, and fail the join when the partitions never appear.
 */
export const staticAssigner =
  (claims: Claims | undefined, held: () => Claims = () => ({}), options: AssignerOptions = {}): PartitionAssigner =>
  ({ cluster, groupId }) => ({
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
      const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
      const retries = options.metadataRetries ?? 20
      const partitionsOf = async (topic: string): Promise<Array<number>> => {
        for (let attempt = 0; ; attempt++) {
          const found = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId)
          if (found.length > 0) return found
          if (attempt >= retries) {
            throw new Error(
              `consumer group ${groupId}: no partitions of ${topic} in the cluster metadata after ${retries} refreshes; not assigning nothing`,
            )
          }
          log(
            `[kafka] consumer group ${groupId}: the leader's metadata has no partitions of ${topic} yet (a topic just created?); refreshing metadata, attempt ${attempt + 1} of ${retries}`,
          )
          await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 500))
          await cluster.refreshMetadata()
        }
      }
      for (const topic of topics) {
        const all = await partitionsOf(topic)
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
