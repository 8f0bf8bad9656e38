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
