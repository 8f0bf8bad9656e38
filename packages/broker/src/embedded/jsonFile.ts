import { readFileSync } from "node:fs"
import { BrokerStorageError } from "../BrokerError.ts"

/** A JSON file of the broker's own; unreadable JSON is a damaged data dir (typed), not a bug. */
export const readJsonFile = <A>(path: string): A => {
  const text = readFileSync(path, "utf8")
  try {
    return JSON.parse(text) as A
  } catch (cause) {
    throw new BrokerStorageError({ message: `${path} is not valid JSON (damaged); restore or remove it`, cause })
  }
}
