import { Config, Effect, Layer } from "effect"
import type { Broker } from "./Broker.ts"
import type { BrokerError } from "./BrokerError.ts"
import { layerEmbedded } from "./embedded/EmbeddedBroker.ts"
import { layerKafka } from "./kafka/KafkaBroker.ts"

/** What the apps use: Kafka/Redpanda when `KAFKA_BROKERS` is set, else the embedded log under DATA_DIR. */
export const layerFromEnv: Layer.Layer<Broker, BrokerError | Config.ConfigError> = Layer.unwrap(
  Effect.gen(function* () {
    const brokers = yield* Config.String("KAFKA_BROKERS").pipe(Config.withDefault(""))
    return brokers.trim() === "" ? layerEmbedded : layerKafka
  }),
)
