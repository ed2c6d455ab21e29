#!/usr/bin/env bash
# Same-run comparison of two server builds on SQLite ingest, alternating, so that a noisy
# shared machine affects both alike:
#   bench/compare.sh BASE_BINARY NEW_BINARY
# RATE (default 1500), DURATION (20), RUNS ("1 2"); NEW_EXTRA is TOML appended to the new
# build's inbox (e.g. to turn a new default off). Uses target/release/loadgen (build it first:
# cargo build --release --bins). Warm runs: one unmeasured message per contact first.
set -uo pipefail
cd "$(dirname "$0")/.."
BASE_BIN="$1"
NEW_BIN="$2"
LG=target/release/loadgen
WORK="${WORK:-/tmp/switchboard-compare}"
PORT="${PORT:-8181}"
export LOADGEN_PASSWORD=bench-password-1 LOADGEN_SECRET=bench-secret-0123456789

run() { # $1 = label, $2 = server binary, $3 = extra inbox TOML
  local w="$WORK/$1"
  rm -rf "$w" && mkdir -p "$w"
  cat > "$w/bench.toml" <<TOML
[server]
bind = "127.0.0.1:$PORT"
data_dir = "$w"
database_url = "sqlite://$w/switchboard.db"
# One load generator on one address: the per-address limits would cap it.
webhook_rate_per_second = 0
widget_rate_per_second = 0
[admin]
email = "admin@localhost"
password = "bench-password-1"
[realtime]
outbound_queue = 1024
[conversations]
idle_actor_secs = 3600
[[inbox]]
id = "support"
channel = "api"
secret = "bench-secret-0123456789"
$3
TOML
  SWITCHBOARD_CONFIG="$w/bench.toml" RUST_LOG=warn "$2" > "$w/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  echo "== $1"
  "$LG" ingest --base "http://127.0.0.1:$PORT" --warm --pid "$pid" --rate "${RATE:-1500}" \
    --duration "${DURATION:-20}" --contacts 10000 --acked "$w/acked.log" 2>&1 |
    grep -E "ingest:|latency|server:"
  kill "$pid"; wait "$pid" 2>/dev/null
}

for i in ${RUNS:-1 2}; do
  run "base-$i" "$BASE_BIN" ""
  run "new-$i" "$NEW_BIN" "${NEW_EXTRA:-}"
done
