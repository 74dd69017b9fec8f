#!/usr/bin/env bash
# Throughput and latency of the whole gateway on this machine: builds the release binaries,
# starts `indgang serve` on a fresh data folder, and drives it with indgang-load.
#   tools/bench.sh [MESSAGES] [CONCURRENCY]
# Prints: full speed with CONCURRENCY clients, then a fixed 2,000 messages/s, then the server's
# peak memory. The figures in docs/benchmarks.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-100000}
concurrency=${2:-64}
port=${PORT:-18181}
cargo build --release -q -p indgang -p indgang-load
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn
token=$(./target/release/indgang token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
./target/release/indgang serve > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
load() { ./target/release/indgang-load --url "http://127.0.0.1:$port" --token "$token" --sender kif-load "$@"; }
load -n 5000 -c "$concurrency" > /dev/null   # warm-up
echo "== full speed: $messages messages, $concurrency clients"
load -n "$messages" -c "$concurrency"
echo "== fixed rate: 2000 messages/s, $concurrency clients, 20000 messages"
load -n 20000 -c "$concurrency" --rate 2000
echo "== server memory"
grep -E "VmHWM|VmRSS" "/proc/$server/status"
du -sh "$work/data"
