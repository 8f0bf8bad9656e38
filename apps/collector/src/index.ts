export * from "./CollectorServer.ts"
export * from "./rateLimit.ts"
export * from "./requestBody.ts"
