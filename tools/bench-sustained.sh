#!/usr/bin/env bash
# 2,000 messages/s for three minutes with the default alerts.group_window (2m): the collected
# emails of the first two minutes go out while the load goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p indgang -p indgang-load
port=${PORT:-18282}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn
token=$(./target/release/indgang token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
./target/release/indgang serve > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
./target/release/indgang-load --url "http://127.0.0.1:$port" --token "$token" --sender kif-load -n 5000 -c 64 > /dev/null
./target/release/indgang-load --url "http://127.0.0.1:$port" --token "$token" --sender kif-load -n 360000 -c 64 --rate 2000
echo "emails written: $(ls "$work/data/outbox" | wc -l)"
grep VmHWM /proc/$server/status
