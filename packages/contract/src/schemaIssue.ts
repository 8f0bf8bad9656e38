import type { SchemaError } from "effect/Schema"
import type { Issue } from "effect/SchemaIssue"

/** Where the first problem of a schema error is, as property keys from the root. */
const firstPath = (issue: Issue): ReadonlyArray<PropertyKey> => {
  const path: Array<PropertyKey> = []
  let node: Issue | undefined = issue
  while (node !== undefined) {
    switch (node._tag) {
      case "Pointer":
        path.push(...node.path)
        node = node.issue
        break
      case "Composite":
      case "AnyOf":
        node = node.issues[0]
        break
      case "Filter":
      case "Encoding":
        node = node.issue
        break
      default:
        node = undefined
    }
  }
  return path
}

const valueAt = (root: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value: unknown } => {
  let cur: unknown = root
  for (const key of path) {
    if (typeof cur !== "object" || cur === null || !(key in cur)) return { found: false, value: undefined }
    cur = (cur as Record<PropertyKey, unknown>)[key]
  }
  return { found: true, value: cur }
}

const shown = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/**
 * A message a person understands from an Effect schema error: the dotted field path, what was expected,
 * and what the record had, e.g. `items.0.quantity: expected a value between 1 and 99, got 0`.
 */
export const describeSchemaError = (error: SchemaError, input: unknown): { path: string | null; message: string } => {
  const keys = firstPath(error.issue)
  const path = keys.length === 0 ? null : keys.map(String).join(".")
  // Effect's message is "Expected ...\n  at [...]"; keep the first line, we print the path our way.
  const expected = (error.message.split("\n")[0] ?? "invalid value").replace(/^Expected /, "expected ")
  const at = valueAt(input, keys)
  if (at.found && typeof at.value === "number" && Number.isInteger(at.value) && !Number.isSafeInteger(at.value)) {
    // JSON.parse already rounded it: say why a whole number is refused.
    return {
      path,
      message: `${path ?? "record"}: expected a safe integer (at most 2^53 - 1 in magnitude, so that JSON readers keep it exact), got ${shown(at.value)}`,
    }
  }
  const got = at.found ? `got ${shown(at.value)}` : "but the field is missing"
  const subject = path ?? "record"
  return { path, message: at.found ? `${subject}: ${expected}, ${got}` : `${subject}: ${expected} ${got}` }
}
