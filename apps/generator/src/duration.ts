/** "90s", "10m", "1.5h", "2d" or plain seconds, in ms; `undefined` when it is none of those. */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim())
  if (m === null) return undefined
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "s") as "s"]
  return Number(m[1]) * unit
}
