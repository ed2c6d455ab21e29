#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md on this machine.
#   bench/run.sh sqlite|postgres [ingest|crash|latency|actors|list|idle|llm|reviews|broadcast|all]
# RATE=max makes ingest closed-loop (saturated); CONNECTIONS (64) is the generator's connections.
# The server and the load generator run on the same machine over loopback (release builds).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND="${1:-sqlite}"
WHAT="${2:-all}"
RATE="${RATE:-10000}"
DURATION="${DURATION:-60}"
PORT="${PORT:-8180}"
WORK="${WORK:-/tmp/switchboard-bench}"
PG="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# WARM=1: before ingest and latency runs, one unmeasured message from every contact (steady state).
WARM_FLAG="${WARM:+--warm}"

cargo build --release --bins -q
BIN=target/release
export LOADGEN_PASSWORD=bench-password-1 LOADGEN_SECRET=bench-secret-0123456789

start_server() { # $1 = run name; a fresh database each time
  local run="$1"
  rm -rf "$WORK/$run" && mkdir -p "$WORK/$run"
  local url="sqlite://$WORK/$run/switchboard.db"
  if [ "$BACKEND" = postgres ]; then
    local db="sb_bench_${run//-/_}"
    psql "$PG" -qc "DROP DATABASE IF EXISTS $db" -qc "CREATE DATABASE $db" >/dev/null
    url="postgres://postgres@127.0.0.1:5432/$db"
  fi
  cat > "$WORK/$run/bench.toml" <<TOML
[server]
bind = "127.0.0.1:$PORT"
data_dir = "$WORK/$run"
database_url = "$url"
# One load generator on one address: the per-address limits would cap it.
webhook_rate_per_second = 0
widget_rate_per_second = 0
[admin]
email = "admin@localhost"
password = "bench-password-1"
[realtime]
outbound_queue = 1024
[conversations]
# Runs are shorter than this: every actor a run starts stays (the actor memory figure).
idle_actor_secs = 3600
[[inbox]]
id = "support"
channel = "api"
secret = "bench-secret-0123456789"
${INBOX_TOML:-}
${EXTRA_TOML:-}
TOML
  DB_URL="$url"
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  SWITCHBOARD_CONFIG="$WORK/$run/bench.toml" RUST_LOG=warn "$BIN/switchboard" > "$WORK/$run/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start"; cat "$WORK/$run/server.log"; exit 1
}
review_count() { # $1 = run name: conversations reviewed in that run's database
  if [ "$BACKEND" = postgres ]; then
    psql "$DB_URL" -tAc "SELECT count(*) FROM conversations WHERE reviewed_at IS NOT NULL"
  else
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM conversations WHERE reviewed_at IS NOT NULL').fetchone()[0])" "$WORK/$1/switchboard.db"
  fi
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
LG="$BIN/loadgen"
T="--base http://127.0.0.1:$PORT"

# The mix of ingest and latency runs: the API inbox's replies (the built-in assistant answers
# each customer until it hands the conversation to a person) are delivered to a real listener,
# `loadgen callback-sink`, as a customer's system would receive them.
CB_PORT="${CB_PORT:-8191}"
SINK_PID=""
CEILING_PID=""
trap '[ -n "$SINK_PID" ] && kill $SINK_PID 2>/dev/null; [ -n "$CEILING_PID" ] && kill $CEILING_PID 2>/dev/null; true' EXIT
sink_start() { "$LG" callback-sink --port "$CB_PORT" 2> "$WORK/$1/sink.log" & SINK_PID=$!; sleep 0.3; }
sink_stop() { kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""; }
CALLBACK_TOML="callback_url = \"http://127.0.0.1:$CB_PORT/callback\"
throughput_per_second = 2000"
result() { grep '^RESULT' "$1" | tail -1 | sed 's/^RESULT //'; } # key=value pairs of a run
field() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }

if [[ "$WHAT" == ingest || "$WHAT" == all ]]; then
  CONNS="${CONNECTIONS:-64}"
  # RATE=max: closed loop, each connection sending its next message once the previous one is
  # answered (as wrk does): what the server sustains when saturated. Otherwise open loop.
  LOAD=(--rate "$RATE"); [ "$RATE" = max ] && LOAD=(--closed)
  # The ceiling first, with the same generator, rate, duration and connections: a bare
  # actix-web handler doing the same HTTP, HMAC and JSON work and storing nothing
  # (src/bin/ceiling.rs). The server's rate as a fraction of it holds across machines.
  echo "== ceiling (no storage): $RATE/s for ${DURATION}s, $CONNS connections"
  mkdir -p "$WORK/ceiling"
  CEIL_PORT=$((PORT + 1))
  "$BIN/ceiling" --bind "127.0.0.1:$CEIL_PORT" > "$WORK/ceiling/ceiling.log" 2>&1 & CEILING_PID=$!
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$CEIL_PORT") 2>/dev/null && break; sleep 0.1; done
  "$LG" ingest --base "http://127.0.0.1:$CEIL_PORT" --pid "$CEILING_PID" --connections "$CONNS" \
    "${LOAD[@]}" --duration "$DURATION" --contacts 10000 | tee "$WORK/ceiling/run.log"
  kill "$CEILING_PID" 2>/dev/null; wait "$CEILING_PID" 2>/dev/null || true; CEILING_PID=""
  CEIL=$(result "$WORK/ceiling/run.log")

  echo "== ingest ($BACKEND): $RATE/s for ${DURATION}s, 10000 contacts, $CONNS connections, replies to a callback listener"
  INBOX_TOML="$CALLBACK_TOML" start_server ingest
  sink_start ingest
  "$LG" ingest $T $WARM_FLAG --pid "$SERVER_PID" --connections "$CONNS" "${LOAD[@]}" --duration "$DURATION" \
    --contacts 10000 --acked "$WORK/ingest/acked.log" | tee "$WORK/ingest/run.log"
  stop_server
  sink_stop
  "$LG" verify --database-url "$DB_URL" --acked "$WORK/ingest/acked.log"
  ING=$(result "$WORK/ingest/run.log")
  python3 - "$BACKEND" "$RATE" "$(field "$ING" acked_per_s)" "$(field "$CEIL" acked_per_s)" \
    "$(field "$ING" cpu_us_per_msg)" "$(field "$CEIL" cpu_us_per_msg)" "$(field "$ING" cores)" \
    "$(field "$ING" p50_ms)" "$(field "$ING" p99_ms)" <<'PY'
import sys
b, rate, acked, ceil, cpu, ceil_cpu, cores, p50, p99 = sys.argv[1:]
ratio = float(acked) / float(ceil) if ceil not in ("", "-", "0") else float("nan")
load = "closed loop" if rate == "max" else f"offered {rate}/s"
print(f"SUMMARY ingest {b} {load}: {acked}/s acknowledged, ceiling {ceil}/s, "
      f"ratio {ratio:.2f}; server CPU {cpu} µs/message (ceiling {ceil_cpu} µs), "
      f"{cores} cores; p50 {p50} ms, p99 {p99} ms")
PY
fi

if [[ "$WHAT" == crash || "$WHAT" == all ]]; then
  echo "== kill -9 during ingest ($BACKEND): every message answered 200 must survive"
  start_server crash
  "$LG" ingest $T --rate 2000 --duration 10 --contacts 1000 --acked "$WORK/crash/acked.log" &
  LG_PID=$!
  sleep 5; kill -9 "$SERVER_PID"; wait "$LG_PID" || true
  "$LG" verify --database-url "$DB_URL" --acked "$WORK/crash/acked.log"
fi

if [[ "$WHAT" == latency || "$WHAT" == all ]]; then
  echo "== POST → agent websocket ($BACKEND): 1000/s fanned out to 10 agents, 30 s"
  INBOX_TOML="$CALLBACK_TOML" start_server latency
  sink_start latency
  "$LG" ws-latency $T $WARM_FLAG --pid "$SERVER_PID" --rate 1000 --agents 10 --duration 30 | tee "$WORK/latency/run.log"
  # Where the time went, by stage (the server's own histograms; warm-up included).
  curl -sf "http://127.0.0.1:$PORT/metrics" > "$WORK/latency/metrics.txt" && python3 bench/stages.py "$WORK/latency/metrics.txt"
  stop_server
  sink_stop
  LAT=$(result "$WORK/latency/run.log")
  echo "SUMMARY latency $BACKEND 1000/s to 10 agents: server CPU $(field "$LAT" cpu_us_per_msg) µs/message; POST → frame p50 $(field "$LAT" frame_p50_ms) ms, p99 $(field "$LAT" frame_p99_ms) ms"
fi

if [[ "$WHAT" == list || "$WHAT" == all ]]; then
  # LIST_CONVERSATIONS (100,000) conversations of LIST_MESSAGES (10) messages each; issue 17's
  # row is 10× that: LIST_CONVERSATIONS=1000000.
  LIST_N="${LIST_CONVERSATIONS:-100000}"
  LIST_M="${LIST_MESSAGES:-10}"
  echo "== list at $LIST_N conversations / $((LIST_N * LIST_M)) messages ($BACKEND)"
  start_server list
  stop_server
  "$LG" seed --database-url "$DB_URL" --conversations "$LIST_N" --messages "$LIST_M"
  # A live database of this size has been vacuumed and analyzed; a fresh bulk load has not.
  if [ "$BACKEND" = postgres ]; then psql "$DB_URL" -qc "VACUUM ANALYZE"; fi
  # The same database again (start_server would start a fresh one); ready when /healthz says.
  SWITCHBOARD_CONFIG="$WORK/list/bench.toml" RUST_LOG=warn "$BIN/switchboard" > "$WORK/list/server.log" 2>&1 &
  SERVER_PID=$!
  started=$(date +%s.%N)
  for _ in $(seq 1 1200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  echo "server ready after $(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$started") s"
  "$LG" list $T --requests 2000 --concurrency 4
  stop_server
fi

if [[ "$WHAT" == actors || "$WHAT" == all ]]; then
  # ACTORS (100,000) messages at ACTOR_RATE (2,000/s) to ACTORS contacts and to a tenth as
  # many: the difference is ACTORS × 0.9 live actors. The rate must be one the backend
  # sustains with every message a contact's first, or the RSS holds a queue of requests too
  # (PostgreSQL here: ACTORS=50000 ACTOR_RATE=400).
  N="${ACTORS:-100000}"
  AR="${ACTOR_RATE:-2000}"
  echo "== memory per live conversation actor ($BACKEND): the same $N messages at $AR/s to $N and to $((N / 10)) contacts"
  for contacts in "$N" "$((N / 10))"; do
    start_server actors
    "$LG" ingest $T --pid "$SERVER_PID" --rate "$AR" --duration "$((N / AR))" --contacts "$contacts"
    sleep 2
    echo "contacts $contacts: server $(grep VmRSS /proc/$SERVER_PID/status)"
    stop_server
  done
  echo "per actor = (RSS with $N − RSS with $((N / 10))) / $((N * 9 / 10))"
fi

if [[ "$WHAT" == llm ]]; then
  # The same ingest and POST → frame runs with the built-in assistant and with a language
  # model that takes LLM_LATENCY_MS to answer every call: the model's slowness must not slow
  # acknowledging messages or pushing them to agents.
  LLM_PORT="${LLM_PORT:-8190}"
  mkdir -p "$WORK"
  "$LG" llm-standin --port "$LLM_PORT" --latency-ms "${LLM_LATENCY_MS:-500}" 2> "$WORK/llm-standin.log" &
  STANDIN_PID=$!
  trap 'kill $STANDIN_PID 2>/dev/null || true' EXIT
  LLM_TOML="[[assistant]]
id = \"bench\"
kind = \"llm\"
base_url = \"http://127.0.0.1:$LLM_PORT/v1\"
model = \"stand-in\"
debounce_ms = 0
concurrency = 64"
  for mode in kb llm; do
    if [ "$mode" = llm ]; then export EXTRA_TOML="$LLM_TOML"; else export EXTRA_TOML=""; fi
    echo "== ingest with the $mode assistant ($BACKEND): $RATE/s for ${DURATION}s, 2000 contacts"
    start_server "llm-ingest-$mode"
    "$LG" ingest $T $WARM_FLAG --pid "$SERVER_PID" --rate "$RATE" --duration "$DURATION" --contacts 2000
    stop_server
    echo "== POST → agent websocket with the $mode assistant ($BACKEND): 200/s to 10 agents, 20 s"
    start_server "llm-latency-$mode"
    "$LG" ws-latency $T $WARM_FLAG --pid "$SERVER_PID" --rate 200 --agents 10 --duration 20
    stop_server
  done
  unset EXTRA_TOML
  tail -1 "$WORK/llm-standin.log" || true
fi

if [[ "$WHAT" == reviews ]]; then
  # The same ingest and POST → frame runs with reviews never due during the run ([review]
  # after_secs = 3600) and due all the time: REVIEW_AFTER (1) second after each message, over
  # CONTACTS (20,000) conversations each writing every 20 s at 1,000/s, so more reviews come
  # due than the pool can make and it works the whole run. They must not slow ingest.
  for mode in none constant; do
    if [ "$mode" = constant ]; then after="${REVIEW_AFTER:-1}"; else after=3600; fi
    export EXTRA_TOML="
[review]
after_secs = $after
concurrency = ${REVIEW_CONCURRENCY:-2}"
    echo "== ingest with reviews $mode ($BACKEND): $RATE/s for ${DURATION}s, ${CONTACTS:-20000} contacts"
    start_server "reviews-ingest-$mode"
    "$LG" ingest $T $WARM_FLAG --pid "$SERVER_PID" --rate "$RATE" --duration "$DURATION" --contacts "${CONTACTS:-20000}"
    stop_server
    reviewed=$(review_count "reviews-ingest-$mode")
    echo "reviews stored during the ingest run: $reviewed"
    echo "== POST → agent websocket with reviews $mode ($BACKEND): 200/s to 10 agents, 20 s"
    start_server "reviews-latency-$mode"
    "$LG" ws-latency $T $WARM_FLAG --pid "$SERVER_PID" --rate 200 --agents 10 --duration 20
    stop_server
    echo "reviews stored during the latency run: $(review_count "reviews-latency-$mode")"
  done
  unset EXTRA_TOML
fi

if [[ "$WHAT" == broadcast ]]; then
  # Broadcasts of the API inbox: each recipient is a signed POST to the inbox's callback_url,
  # where the load generator listens (and counts, and checks no message_id comes twice).
  # Every run of this scenario sets that callback_url, so the inbox's replies during ingest go
  # there too (to `loadgen callback-sink` when no broadcast runs): with and without compare
  # the same configuration.
  BC_RATE="${BC_RATE:-1000}"          # ingest and POST → frame, fixed and moderate
  BC_DURATION="${BC_DURATION:-20}"
  # The concurrent broadcast asks BC_WITH_RATE (default 1,000/s: as fast as the server goes)
  # and outlasts the measured run: BC_WITH_RATE × (BC_DURATION + 10) recipients.
  BC_WITH_RATE="${BC_WITH_RATE:-1000}"
  BC_CONC="${BC_CONC:-$((BC_WITH_RATE * (BC_DURATION + 10)))}"
  # throughput_per_second: the API inbox's cap (100/s by default) above the 1,000/s a broadcast
  # may ask for, so "unpaced" is the server's own limit.
  export INBOX_TOML="callback_url = \"http://127.0.0.1:$CB_PORT/callback\"
throughput_per_second = 2000"
  BC() { "$LG" broadcast $T --pid "$SERVER_PID" --database-url "$DB_URL" --listen "$CB_PORT" "$@"; }
  # Runs "$@" while a broadcast of $2 recipients at $1/s runs (started first; its output after).
  with_broadcast() {
    local run="$1" rate="$2" recipients="$3"; shift 3
    BC --recipients "$recipients" --rate "$rate" --started-file "$WORK/$run/started" > "$WORK/$run/broadcast.log" 2>&1 &
    local bc_pid=$!
    for _ in $(seq 1 600); do [ -f "$WORK/$run/started" ] && break; sleep 0.1; done
    "$@"
    wait "$bc_pid" || echo "broadcast run failed"
    sed 's/^/  [concurrent] /' "$WORK/$run/broadcast.log"
  }

  echo "== broadcast paced ($BACKEND): 3000 recipients at 100/s"
  start_server bc-paced
  BC --recipients 3000 --rate 100
  stop_server
  echo "== broadcast unpaced ($BACKEND): 10000 recipients at 1000/s"
  start_server bc-unpaced
  BC --recipients 10000 --rate 1000
  stop_server

  echo "== ingest alone ($BACKEND): $BC_RATE/s for ${BC_DURATION}s, 10000 contacts"
  start_server bc-ingest-alone
  sink_start bc-ingest-alone
  "$LG" ingest $T --pid "$SERVER_PID" --rate "$BC_RATE" --duration "$BC_DURATION" --contacts 10000
  sink_stop
  stop_server
  echo "== ingest with a $BC_CONC-recipient broadcast asking $BC_WITH_RATE/s ($BACKEND): $BC_RATE/s for ${BC_DURATION}s"
  start_server bc-ingest-with
  with_broadcast bc-ingest-with "$BC_WITH_RATE" "$BC_CONC" \
    "$LG" ingest $T --pid "$SERVER_PID" --rate "$BC_RATE" --duration "$BC_DURATION" --contacts 10000
  stop_server

  echo "== POST → agent websocket alone ($BACKEND): $BC_RATE/s to 10 agents, ${BC_DURATION}s"
  start_server bc-latency-alone
  sink_start bc-latency-alone
  "$LG" ws-latency $T --pid "$SERVER_PID" --rate "$BC_RATE" --agents 10 --duration "$BC_DURATION"
  sink_stop
  stop_server
  echo "== POST → agent websocket with a $BC_CONC-recipient broadcast asking $BC_WITH_RATE/s ($BACKEND)"
  start_server bc-latency-with
  with_broadcast bc-latency-with "$BC_WITH_RATE" "$BC_CONC" \
    "$LG" ws-latency $T --pid "$SERVER_PID" --rate "$BC_RATE" --agents 10 --duration "$BC_DURATION"
  stop_server
  unset INBOX_TOML
fi

if [[ "$WHAT" == idle || "$WHAT" == all ]]; then
  COUNT="${COUNT:-20000}"
  echo "== $COUNT idle agent websockets ($BACKEND)"
  start_server idle
  "$LG" idle-ws $T --pid "$SERVER_PID" --count "$COUNT" --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --hold "${HOLD:-60}"
  stop_server
fi
