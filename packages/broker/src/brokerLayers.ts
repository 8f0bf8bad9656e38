import { layerFromEnv } from "./brokerFromEnv.ts"
import { layerEmbedded } from "./embedded/EmbeddedBroker.ts"
import { layerKafka } from "./kafka/KafkaBroker.ts"
import { layerMemory } from "./memory/MemoryBroker.ts"

/**
 * The Broker's layers in one place, apart from the tag (Broker.ts imports none of its implementations, so
 * they can import it): `layer` picks from the environment (brokerFromEnv.ts), `layerEmbedded` and
 * `layerKafka` live beside their implementations, `layerTest` is a fresh in-memory broker per build (on the
 * Effect Clock, so TestClock drives it), which passes the same contract suite.
 */
export const BrokerLayers = { layer: layerFromEnv, layerEmbedded, layerKafka, layerTest: layerMemory() } as const
