import { expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

test("a Warehouse closed while a statement runs (Ctrl-C during a gold run) ends the process cleanly, 5 of 5", async () => {
  for (let i = 0; i < 5; i++) {
    const child = Bun.spawn(["bun", join(import.meta.dir, "fixtures/interruptedQuery.ts")], {
      stdout: "pipe",
      stderr: "pipe",
    })
    const [code, out, err] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ])
    if (code !== 0) console.error(err.slice(-2000))
    expect({ code, out }).toEqual({ code: 0, out: "closed\n" })
  }
})
