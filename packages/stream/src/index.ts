export * from "./Deduplicator.ts"
export * from "./routeBatch.ts"
export * from "./StreamMetrics.ts"
export * from "./StreamProcessor.ts"
