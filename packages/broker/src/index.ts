export * from "./Broker.ts"
export * from "./BrokerError.ts"
