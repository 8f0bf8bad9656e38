import { resolve } from "node:path"
import { Config } from "effect"

/**
 * The lake and broker root every program works under: `DATA_DIR` (default `./data`), as an absolute path. A
 * program reads it once (`yield* DataDir`) and passes it down.
 */
export const DataDir: Config.Config<string> = Config.String("DATA_DIR").pipe(
  Config.withDefault("./data"),
  Config.map((dir) => resolve(dir)),
)

/**
 * `SHOP_REQUIRE_KEYED_ORDERS` (default false): when true, order_placed and order_returned events the collector
 * took without a write key (`ingest.keyed: false`) are kept in Bronze and Silver but not trusted, so they count
 * in no revenue (docs/contract/events-v1.md, "Trusted orders").
 */
export const RequireKeyedOrders: Config.Config<boolean> = Config.Boolean("SHOP_REQUIRE_KEYED_ORDERS").pipe(
  Config.withDefault(false),
)
