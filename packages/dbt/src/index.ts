export { Dbt, DbtFailed, type DbtRun, DbtUnavailable } from "./Dbt.ts"
export { dbtLoop } from "./dbtLoop.ts"
export { DBT_CLI, DBT_PROJECT_DIR, dbtEnv, dbtMartsDir, hasPython, prepareDbt } from "./dbtProject.ts"
