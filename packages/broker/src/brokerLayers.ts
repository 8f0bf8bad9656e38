import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { Broker } from "./Broker.ts"
import type { BrokerError } from "./BrokerError.ts"
import { layerFromEnv } from "./brokerFromEnv.ts"
import { layerEmbedded, makeEmbeddedBroker } from "./embedded/EmbeddedBroker.ts"
import { layerKafka } from "./kafka/KafkaBroker.ts"

/** A real embedded log in a fresh temp dir, removed when the layer's scope closes: for specs. */
const layerTest: Layer.Layer<Broker, BrokerError> = Layer.effect(
  Broker,
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "broker-test-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  ).pipe(Effect.flatMap((dir) => makeEmbeddedBroker(dir))),
)

/**
 * The Broker's layers in one place, apart from the tag (Broker.ts imports none of its implementations, so
 * they can import it): `layer` picks from the environment (brokerFromEnv.ts), `layerEmbedded` and
 * `layerKafka` live beside their implementations, `layerTest` is an embedded log in a temp dir.
 */
export const BrokerLayers = { layer: layerFromEnv, layerEmbedded, layerKafka, layerTest } as const
