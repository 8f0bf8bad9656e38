/**
 * Fails when the imports of the workspace's sources form a cycle: between modules (files), or between
 * packages (a package importing another that imports it back). Run by `bun run check:cycles` in CI.
 * Imports are read with TypeScript's own pre-processor (`ts.preProcessFile`): type-only imports count too,
 * since they still tie the modules' meanings together (Bun's `scanImports` drops them, so a cycle of
 * `import type` went unseen).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"

const root = resolve(import.meta.dir, "..")
const importsOf = (source: string) => ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName)

const walk = (dir: string, out: Array<string>) => {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, out)
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path)
  }
  return out
}

// Workspace packages by name: their entry file and their folder.
const packages = new Map<string, { entry: string; dir: string }>()
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name)
    const manifest = join(dir, "package.json")
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name: string; exports?: Record<string, string> }
    const entry = pkg.exports?.["."]
    packages.set(pkg.name, { entry: entry === undefined ? "" : resolve(dir, entry), dir })
  }
}
const packageOf = (file: string) => {
  for (const [name, p] of packages) if (file.startsWith(`${p.dir}/`)) return name
  return undefined
}

const resolveImport = (from: string, spec: string): string | undefined => {
  if (spec.startsWith(".")) {
    const base = resolve(dirname(from), spec)
    for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
      if (existsSync(candidate) && statSync(candidate).isFile()) return candidate
    }
    return undefined
  }
  const [scope, name] = spec.split("/")
  const p = packages.get(`${scope}/${name}`)
  return p?.entry === "" ? undefined : p?.entry
}

const files = [...walk(join(root, "packages"), []), ...walk(join(root, "apps"), [])].filter((f) => f.includes("/src/"))
const graph = new Map<string, Array<string>>()
const packageGraph = new Map<string, Set<string>>()
for (const file of files) {
  const targets: Array<string> = []
  for (const spec of importsOf(readFileSync(file, "utf8"))) {
    const target = resolveImport(file, spec)
    if (target === undefined) continue
    targets.push(target)
    const a = packageOf(file)
    const b = packageOf(target)
    if (a !== undefined && b !== undefined && a !== b) {
      if (!packageGraph.has(a)) packageGraph.set(a, new Set())
      packageGraph.get(a)!.add(b)
    }
  }
  graph.set(file, targets)
}

/** Every elementary cycle reachable by depth-first search, each reported once (as its first back edge). */
const cyclesOf = (edges: ReadonlyMap<string, Iterable<string>>): Array<Array<string>> => {
  const state = new Map<string, "open" | "done">()
  const stack: Array<string> = []
  const found: Array<Array<string>> = []
  const visit = (node: string) => {
    state.set(node, "open")
    stack.push(node)
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next])
      else if (state.get(next) === undefined) visit(next)
    }
    stack.pop()
    state.set(node, "done")
  }
  for (const node of edges.keys()) if (state.get(node) === undefined) visit(node)
  return found
}

const moduleCycles = cyclesOf(graph)
const packageCycles = cyclesOf(packageGraph)
for (const c of moduleCycles) console.error(`import cycle: ${c.map((f) => relative(root, f)).join(" -> ")}`)
for (const c of packageCycles) console.error(`package cycle: ${c.join(" -> ")}`)
if (moduleCycles.length + packageCycles.length > 0) {
  console.error(
    `${moduleCycles.length} module and ${packageCycles.length} package cycles: move what both sides need into a module (or package) they both import`,
  )
  process.exit(1)
}
console.log(`no import cycles: ${graph.size} modules, ${packageGraph.size} packages with dependencies`)
