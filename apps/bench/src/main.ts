// Subpath imports: the package root also loads every other platform module (redis, cluster, ...), ~1 s per start.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { allBench } from "./all.ts"
import { brokerBench } from "./broker.ts"
import { freshnessBench } from "./freshness.ts"
import { dbtBench, goldBench } from "./gold.ts"
import { soakBench } from "./soak.ts"
import { streamBench } from "./stream.ts"

const bench = Command.make("bench").pipe(
  Command.withDescription("Benchmarks: each prints its figures and saves them under bench/results/"),
  Command.withSubcommands([brokerBench, streamBench, freshnessBench, goldBench, dbtBench, soakBench, allBench]),
)

Command.run(bench, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
