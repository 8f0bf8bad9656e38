#!/usr/bin/env bash
# The Superset suite (CI step "superset suite"): installs Superset, bootstraps it, runs the pipeline on generated
# data, then checks every dashboard in headless Chromium (apps/superset/test). Screenshots go to
# $SUPERSET_SCREENSHOTS (default .tmp/superset-screenshots). Runs on a throw-away DATA_DIR and port, or on
# SUPERSET_SUITE_DATA_DIR: a lake already there (silver/, e.g. after a first `bun run dev`) is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }

export DATA_DIR="${SUPERSET_SUITE_DATA_DIR:-$(mktemp -d -t superset-suite.XXXXXX)}"
# The spec "new events show up" writes a burst of events (200/s for 3 s) into the lake: only into a lake the suite
# made. On a lake of yours it showed as a 600-event spike on the Right-now charts of the next run.
own_lake=1
[ -n "${SUPERSET_SUITE_DATA_DIR:-}" ] && own_lake=""
export SUPERSET_ADMIN_USERNAME=admin
export SUPERSET_ADMIN_PASSWORD="${SUPERSET_ADMIN_PASSWORD:-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')}"
export SUPERSET_SECRET_KEY="${SUPERSET_SECRET_KEY:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}"
export SUPERSET_SCREENSHOTS="${SUPERSET_SCREENSHOTS:-$PWD/.tmp/superset-screenshots}"
port="${SUPERSET_SUITE_PORT:-8088}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
echo "DATA_DIR=$DATA_DIR port=$port screenshots=$SUPERSET_SCREENSHOTS"

# The pip install of Superset is the slow part: start install + bootstrap + server first, make data meanwhile.
log="$DATA_DIR/superset-run.log"
bun run superset -- --port "$port" >"$log" 2>&1 &
superset_pid=$!
stop() { kill -INT "$superset_pid" 2>/dev/null || true; wait "$superset_pid" 2>/dev/null || true; }
trap stop EXIT

if [ ! -x "$CHROMIUM" ]; then
  echo "installing Chromium (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ -d "$DATA_DIR/silver" ]; then
  # A lake made beforehand, e.g. by a first `bun run dev --no-superset` (its 28-day history): used as it is.
  echo "[$(elapsed)] using the lake already in $DATA_DIR (no generated data)"
else
  echo "[$(elapsed)] generating 7 days of shop events and running the pipeline"
  bun run generate -- --backfill-days 7 --eps 1 --seed 7 --bad-rate 0.005 --dup-rate 0.005 --late-rate 0.005 | tail -1
  bun run pipeline -- --available-now 2>&1 | tail -2
  bun run gold -- --once 2>&1 | tail -1 # the "right now" rollups as of now
  if grep -q '"dbt":' package.json; then
    echo "[$(elapsed)] dbt build (the marts the daily dashboards read; without them they read gold)"
    bun run dbt -- build 2>&1 | tail -2
  fi
fi

echo "[$(elapsed)] waiting for Superset (install on first use, bootstrap, start)"
last=""
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
  if ! kill -0 "$superset_pid" 2>/dev/null; then
    echo "bun run superset exited early:" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  if [ $((SECONDS - started)) -gt 1500 ]; then
    echo "Superset not ready after 25 min" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  line=$(grep -E '^\[(superset|setup)\]|^(Collecting|Installing|Successfully)' "$log" | tail -1 | cut -c1-160 || true)
  if [ "$line" != "$last" ]; then echo "  [$(elapsed)] $line"; last="$line"; fi
  sleep 3
done
grep '^\[superset\]' "$log" | sed 's/^/  /'

echo "[$(elapsed)] dashboards in headless Chromium"
SUPERSET_E2E_URL="http://127.0.0.1:$port" SUPERSET_E2E_PIPELINE="$own_lake" bun test apps/superset/test
echo "superset suite passed in $(elapsed); screenshots in $SUPERSET_SCREENSHOTS"
