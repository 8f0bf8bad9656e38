# Shared by start / stop / restart. Sourced, not run.
# Settings (environment):
#   KAFKA_PORT             client port on localhost (default 9092); the controller listens on KAFKA_PORT+1
#   KAFKA_LOCAL_DATA_DIR   logs, KRaft metadata, pid file and broker log (default infra/kafka-local/data)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to be ready (default 120)
#   KAFKA_HEAP_OPTS        JVM heap (default -Xms256m -Xmx1g)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="$((KAFKA_PORT + 1))"
DATA_DIR="${KAFKA_LOCAL_DATA_DIR:-$HERE/data}"
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
LIB_DIR="$HERE/lib"
PID_FILE="$DATA_DIR/kafka.pid"
LOG_FILE="$DATA_DIR/kafka.log"
CONFIG_FILE="$DATA_DIR/server.properties"

say() { printf 'kafka-local: %s\n' "$*" >&2; }

# The pid in the pid file, if that process is still our broker (a reused pid is not ours).
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
