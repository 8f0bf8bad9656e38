/** Durations carry their unit (90s, 10m, 2h): one parser for every program's flags, in @shop/runtime. */
export { parseDuration } from "@shop/runtime"
