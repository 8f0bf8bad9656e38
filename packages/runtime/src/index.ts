export * from "./logLine.ts"
export * from "./runCli.ts"
export * from "./UsageError.ts"
