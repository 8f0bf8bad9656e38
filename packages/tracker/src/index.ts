export { type TrackerScript, trackerScript } from "./trackerScript.ts"
