import { kafkaTopicConfigs, type TopicSpec } from "@shop/broker"
import { Effect, Schema } from "effect"
import { Kafka, logLevel } from "kafkajs"

/** The Kafka admin protocol refused or failed a request (kafkajs has retried it with backoff already). */
export class TopicAdminError extends Schema.TaggedError<TopicAdminError>()("TopicAdminError", {
  message: Schema.String,
}) {}

/** A topic as planned: the Broker's TopicSpec, with its Kafka configs from `kafkaTopicConfigs` (the same the
 *  Kafka layer gives the topics it creates; absent retention: keep). */
export type TopicPlan = TopicSpec

export interface TopicState {
  readonly name: string
  readonly partitions: number
  readonly retentionMs: string | undefined
  readonly retentionBytes: string | undefined
  readonly maxMessageBytes: string | undefined
  /** What differs from the plan (fewer partitions, other retention); empty when the topic is as planned. */
  readonly problems: ReadonlyArray<string>
}

const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) =>
      new TopicAdminError({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` }),
  })

/**
 * Creates missing topics and checks existing ones (partitions, retention) through the Kafka admin protocol, so
 * it works on Redpanda and Apache Kafka alike. An existing topic is never changed: differences are reported.
 */
export const ensureTopics = (brokers: ReadonlyArray<string>, plans: ReadonlyArray<TopicPlan>) =>
  Effect.acquireUseRelease(
    Effect.gen(function* () {
      const admin = new Kafka({
        clientId: "shop-pulse-admin",
        brokers: [...brokers],
        logLevel: logLevel.NOTHING,
        retry: { retries: 5, initialRetryTime: 300 },
      }).admin()
      yield* attempt(`connect to ${brokers.join(",")}`, () => admin.connect())
      return admin
    }),
    (admin) =>
      Effect.gen(function* () {
        const existing = new Set(yield* attempt("list topics", () => admin.listTopics()))
        const missing = plans.filter((p) => !existing.has(p.name))
        if (missing.length > 0) {
          yield* attempt(`create ${missing.map((p) => p.name).join(", ")}`, () =>
            admin.createTopics({
              waitForLeaders: true,
              topics: missing.map((p) => ({
                topic: p.name,
                numPartitions: p.partitions,
                configEntries: kafkaTopicConfigs(p),
              })),
            }),
          )
        }
        const metadata = yield* attempt("describe topics", () =>
          admin.fetchTopicMetadata({ topics: plans.map((p) => p.name) }),
        )
        const configs = yield* attempt("describe topic configs", () =>
          admin.describeConfigs({
            includeSynonyms: false,
            resources: plans.map((p) => ({
              type: 2, // TOPIC
              name: p.name,
              configNames: ["retention.ms", "retention.bytes", "max.message.bytes"],
            })),
          }),
        )
        return plans.map((plan): TopicState => {
          const partitions = metadata.topics.find((t) => t.name === plan.name)?.partitions.length ?? 0
          const entries = configs.resources.find((r) => r.resourceName === plan.name)?.configEntries ?? []
          const value = (config: string) => entries.find((e) => e.configName === config)?.configValue
          const retentionMs = value("retention.ms")
          const retentionBytes = value("retention.bytes")
          const maxMessageBytes = value("max.message.bytes")
          const problems = [
            ...(partitions < plan.partitions ? [`has ${partitions} partitions, planned ${plan.partitions}`] : []),
            ...kafkaTopicConfigs(plan)
              .filter((c) => value(c.name) !== c.value)
              .map((c) => `${c.name} is ${value(c.name)}, planned ${c.value}`),
          ]
          return { name: plan.name, partitions, retentionMs, retentionBytes, maxMessageBytes, problems }
        })
      }),
    (admin) => Effect.promise(() => admin.disconnect()),
  )
