import { Lake } from "@shop/lake"
import { defaultHost } from "@shop/runtime"
import { Warehouse } from "@shop/warehouse"
import { Layer } from "effect"
import { DashboardServer, type ServerOptions } from "./DashboardServer.ts"
import { LiveData, type LiveOptions } from "./LiveData.ts"

/** The whole dashboard: its own in-memory DuckDB, the live data over the lake (read-only), and the HTTP server. */
export const dashboardLayer = (options: LiveOptions & ServerOptions) =>
  DashboardServer.layer(options).pipe(
    Layer.provide(LiveData.layer(options)),
    Layer.provide(Layer.merge(Warehouse.layer, Lake.layerAt(options.root))),
  )

/** `DASHBOARD_PORT`, else 3000. */
export const defaultDashboardPort = (): number => {
  const env = process.env.DASHBOARD_PORT
  return env === undefined || env === "" ? 3000 : Number(env)
}

/** `DASHBOARD_HOST`, else 127.0.0.1. */
export const defaultDashboardHost = (): string => defaultHost("DASHBOARD_HOST")
