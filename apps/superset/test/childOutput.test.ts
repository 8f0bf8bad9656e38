import { expect, setDefaultTimeout, test } from "bun:test"
import { supersetLines } from "../src/supersetChild.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/** What `bun run dev` prints of the Superset child: every line prefixed, pip's per-package lines condensed. */
test("the Superset child's lines are prefixed and pip's progress is condensed", () => {
  const out: Array<string> = []
  const lines = supersetLines((l) => out.push(l))
  lines.line("[setup] creating Python env superset/.venv with superset/requirements.txt (first run only, ~1 min)...")
  for (let i = 1; i <= 120; i++) {
    lines.line(`Collecting pkg${i}==1.0 (from -r superset/requirements.txt (line ${i}))`)
    lines.line(`  Downloading pkg${i}-1.0-py3-none-any.whl.metadata (2.1 kB)`)
    lines.line(`Using cached pkg${i}-1.0-py3-none-any.whl (10 kB)`)
  }
  lines.line("Installing collected packages: pkg1, pkg2")
  lines.line("Successfully installed pkg1-1.0 pkg2-1.0")
  lines.line("")
  lines.line("[superset] ready at http://127.0.0.1:8088")
  lines.line("2026-12-02 10:00:00,000:INFO:superset.app:loaded\r")
  expect(out).toEqual([
    "[setup] creating Python env superset/.venv with superset/requirements.txt (first run only, ~1 min)...",
    "[superset] pip: 50 packages collected so far...",
    "[superset] pip: 100 packages collected so far...",
    "[superset] Successfully installed pkg1-1.0 pkg2-1.0",
    "[superset] ready at http://127.0.0.1:8088",
    "[superset] 2026-12-02 10:00:00,000:INFO:superset.app:loaded",
  ])
  expect(lines.folded()).toBe(361)
  // Nothing left unprefixed.
  for (const l of out) expect(l).toMatch(/^\[(superset|setup)\] /)
})
