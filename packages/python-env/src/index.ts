export { ensurePythonEnv, repoRoot } from "./pythonEnv.ts"
