export * from "./CollectorServer.ts"
export * from "./requestBody.ts"
