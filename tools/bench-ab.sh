#!/usr/bin/env bash
# Two builds side by side, alternating: for each round and each build, a fresh gateway on a fresh
# data folder (the embedded SQLite default, alerts collected as configured by default with
# GROUP_WINDOW, default 2m), 5,000 messages of warm-up, then MESSAGES at full speed from 64 clients;
# prints throughput, latency and the CPU per message of the server's thread groups and of the load
# generator (tools/cpu.py). On a machine whose speed drifts within the hour, only builds measured
# alternately in the same minutes compare.
#   tools/bench-ab.sh DIR_A DIR_B [MESSAGES] [ROUNDS]     (default 50000 2)
# Each DIR holds a release build's `indgang`; the load generator is this tree's release build.
# A DIR given as `rabbitmq` is the machine's RabbitMQ instead (AMQP_URI, default guest on
# 127.0.0.1:5672): the same messages, persistent, to a durable queue, each client awaiting its
# publisher confirm (indgang-load --amqp), and the broker's CPU is that of its Erlang VM (beam.smp).
# RATE=R runs each load at R messages per second instead of full speed (latency from the schedule).
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 messages=${3:-50000} rounds=${4:-2}
port=${PORT:-18433}
cargo build --release -q -p indgang-load
load_bin=$PWD/target/release/indgang-load
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg); RabbitMQ $(pgrep -f beam.smp > /dev/null && echo running || echo 'not running')"
rate=()
if [ -n "${RATE:-}" ]; then rate=(--rate "$RATE"); fi
broker() {
  local vm before after
  vm=$(pgrep -f beam.smp | head -n 1) || { echo "RabbitMQ is not running"; return 1; }
  local load=("$load_bin" --amqp "${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/%2f}")
  "${load[@]}" -n 5000 -c 64 > /dev/null
  before=$(tools/cpu.py total "$vm")
  tools/cpu.py run "$messages" -- "${load[@]}" -n "$messages" -c 64 "${rate[@]}" | grep -E "throughput|latency|load generator"
  sleep 1.5
  after=$(tools/cpu.py total "$vm")
  python3 -c "import sys; print(f'broker CPU {(float(sys.argv[2]) - float(sys.argv[1])) / int(sys.argv[3]):.0f} us/message (beam.smp)')" "$before" "$after" "$messages"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
  sleep 15
}
one() {
  local bin=$1 work server token before after
  if [ "$bin" = rabbitmq ]; then broker; return; fi
  work=$(mktemp -d)
  export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn
  export INDGANG__ALERTS__GROUP_WINDOW="${GROUP_WINDOW:-2m}"
  "$bin/indgang" migrate > /dev/null
  token=$("$bin/indgang" token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
  "$bin/indgang" serve > "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
  local load=("$load_bin" --url "http://127.0.0.1:$port" --token "$token" --sender kif-load)
  "${load[@]}" -n 5000 -c 64 > /dev/null
  before=$(tools/cpu.py snapshot "$server")
  tools/cpu.py run "$messages" -- "${load[@]}" -n "$messages" -c 64 "${rate[@]}" | grep -E "throughput|latency|load generator"
  sleep 1.5 # the checkpointer's last run counted
  after=$(tools/cpu.py snapshot "$server")
  tools/cpu.py report "$before" "$after" "$messages"
  kill "$server"; wait "$server" 2> /dev/null || true
  rm -rf "$work"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
  sleep 15 # new files are slow right after many were deleted (see docs/benchmarks.md)
}
for ((round = 1; round <= rounds; round++)); do
  echo "=== round $round: A ($a)"; one "$a"
  echo "=== round $round: B ($b)"; one "$b"
done
