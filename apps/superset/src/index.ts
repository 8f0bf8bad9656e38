export * from "./bootstrap.ts"
export * from "./SupersetError.ts"
export * from "./serve.ts"
export * from "./supersetEnv.ts"
