export * from "./AdminApi.ts"
export * from "./pipelineTopics.ts"
export * from "./TopicAdmin.ts"
