#!/usr/bin/env bash
# Throughput and latency of the whole gateway on this machine: builds the release binaries,
# starts `indgang serve` on a fresh data folder, and drives it with indgang-load.
#   tools/bench.sh [MESSAGES] [CONCURRENCY]
# Prints: full speed with CONCURRENCY clients, how long the delivery worker then takes to empty
# the outbox (one team email per message, written as .eml files as the embedded default does),
# a fixed 2,000 messages/s once the outbox is empty, then the server's peak memory. After each load
# it prints the server's CPU time per message, in all and per group of threads (tools/cpu.py), and
# the WAL bytes the writer wrote per message: on this shared two-core machine they vary much less
# from run to run than throughput and latency do. After the full-speed load it also prints the
# load generator's own CPU time per message: it shares the two cores. The figures in
# docs/benchmarks.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-100000}
concurrency=${2:-64}
port=${PORT:-18181}
cargo build --release -q -p indgang -p indgang-load
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn
# Team emails one per message and at once (as before alerts were collected), so that the outbox
# drains at a measurable rate; GROUP_WINDOW=2m measures the default, one email per 50 alerts.
export INDGANG__ALERTS__GROUP_WINDOW="${GROUP_WINDOW:-0s}"
token=$(./target/release/indgang token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
operator=$(./target/release/indgang token create --role operator | tail -n 1)
queued() {
  curl -sf -H "Authorization: Bearer $operator" "http://127.0.0.1:$port/v1/status" |
    python3 -c 'import json,sys; print(sum(d["queue_depth"] for d in json.load(sys.stdin)["destinations"]))'
}
./target/release/indgang serve > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
load_command=(./target/release/indgang-load --url "http://127.0.0.1:$port" --token "$token" --sender kif-load)
load() { "${load_command[@]}" "$@"; }
# The server's CPU time per thread group and the bytes its writer wrote to the WAL, from /proc.
usage() { tools/cpu.py snapshot "$server"; }
per_message() { tools/cpu.py report "$1" "$2" "$3"; }
load -n 5000 -c "$concurrency" > /dev/null   # warm-up
drain() {
  local start before
  start=$(date +%s.%N); before=$(queued)
  while [ "$(queued)" -gt 0 ]; do sleep 0.2; done
  python3 -c "import sys; b=int(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2]); print(f'{b} deliveries still queued when the load stopped; sent in {t:.1f} s ({b/t if t > 0 else 0:,.0f} deliveries/s)')" "$before" "$start" "$(date +%s.%N)"
}
drain
echo "== full speed: $messages messages, $concurrency clients"
before=$(usage)
tools/cpu.py run "$messages" -- "${load_command[@]}" -n "$messages" -c "$concurrency"
per_message "$before" "$(usage)" "$messages"
echo "== delivery: emptying the outbox"
drain
echo "== fixed rate: 2000 messages/s, $concurrency clients, 20000 messages (the worker keeps pace)"
before=$(usage)
load -n 20000 -c "$concurrency" --rate 2000
drain
per_message "$before" "$(usage)" 20000
echo "== server memory"
grep -E "VmHWM|VmRSS" "/proc/$server/status"
du -sh "$work/data"
