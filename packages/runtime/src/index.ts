export * from "./listen.ts"
export * from "./logLine.ts"
export * from "./runCli.ts"
export * from "./UsageError.ts"
