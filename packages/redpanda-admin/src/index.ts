export * from "./AdminApi.ts"
export * from "./TopicAdmin.ts"
