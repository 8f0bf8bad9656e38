import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Config, Effect, Layer } from "effect"
import { Broker } from "./Broker.ts"
import type { BrokerError } from "./BrokerError.ts"
import { makeEmbeddedBroker } from "./embedded/EmbeddedBroker.ts"
import { makeKafkaBroker } from "./kafka/KafkaBroker.ts"

/** The embedded durable log under `$DATA_DIR/broker` (default `./data/broker`). */
const layerEmbedded: Layer.Layer<Broker, BrokerError | Config.ConfigError> = Layer.effect(
  Broker,
  Effect.gen(function* () {
    const dataDir = yield* Config.String("DATA_DIR").pipe(Config.withDefault("./data"))
    return yield* makeEmbeddedBroker(`${dataDir}/broker`)
  }),
)

/**
 * Apache Kafka or Redpanda through kafkajs: `KAFKA_BROKERS` (comma-separated host:port), optional
 * `KAFKA_CLIENT_ID` (default shop-pulse) and `KAFKA_RETRIES` (default 10, about 35 s of backoff).
 */
const layerKafka: Layer.Layer<Broker, BrokerError | Config.ConfigError> = Layer.effect(
  Broker,
  Effect.gen(function* () {
    const brokers = yield* Config.String("KAFKA_BROKERS")
    const clientId = yield* Config.String("KAFKA_CLIENT_ID").pipe(Config.withDefault("shop-pulse"))
    const retries = yield* Config.Int("KAFKA_RETRIES").pipe(Config.withDefault(10))
    return yield* makeKafkaBroker({
      brokers: brokers
        .split(",")
        .map((b) => b.trim())
        .filter((b) => b !== ""),
      clientId,
      retries,
    })
  }),
)

/** What the apps use: Kafka/Redpanda when `KAFKA_BROKERS` is set, else the embedded log. */
const layer: Layer.Layer<Broker, BrokerError | Config.ConfigError> = Layer.unwrap(
  Effect.gen(function* () {
    const brokers = yield* Config.String("KAFKA_BROKERS").pipe(Config.withDefault(""))
    return brokers.trim() === "" ? layerEmbedded : layerKafka
  }),
)

/** A real embedded log in a fresh temp dir, removed when the layer's scope closes: for specs. */
const layerTest: Layer.Layer<Broker, BrokerError> = Layer.effect(
  Broker,
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "broker-test-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  ).pipe(Effect.flatMap((dir) => makeEmbeddedBroker(dir))),
)

/** The Broker's layers (apart from the tag, so the implementations never import back what imports them). */
export const BrokerLayers = { layer, layerEmbedded, layerKafka, layerTest } as const
