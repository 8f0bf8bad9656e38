export * from "./runCli.ts"
export * from "./UsageError.ts"
