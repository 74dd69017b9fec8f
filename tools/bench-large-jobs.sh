#!/usr/bin/env bash
# Large jobs never stall intake: the p99 latency of a steady 2,000 messages/s, on its own and
# while, at the same time, a 10,000-row CSV batch of housing offers is filed, 10,000 dead letters
# are replayed and this year's team report is read.
#   tools/bench-large-jobs.sh [SECONDS]      (each measured load runs SECONDS, default 20)
# JOBS="batch replay" (a subset of "batch replay report") runs only those, to tell them apart.
# Set-up: 10,000 release notices are filed with a webhook destination configured; the gateway is
# stopped and started again without that destination, so each of their 10,000 webhook deliveries
# becomes a dead letter at once ("no longer configured"). The outbox is emptied before each
# measured load. The load generator measures latency from each message's scheduled time (no
# coordinated omission). docs/benchmarks.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
port=${PORT:-18383}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p indgang -p indgang-load
bin="$target/release"
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn
export INDGANG__ALERTS__GROUP_WINDOW=0s
url="http://127.0.0.1:$port"
token=$("$bin/indgang" token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
housing=$("$bin/indgang" token create --role sender --sender boligtildeling-load --kinds housing-offer | tail -n 1)
operator=$("$bin/indgang" token create --role operator | tail -n 1)
start() {
  "$bin/indgang" serve >> "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "$url/readyz" > /dev/null && return; sleep 0.1; done
  echo "the gateway did not start" >&2; cat "$work/serve.log" >&2; exit 1
}
stop() { kill -TERM "$server"; wait "$server" || true; }
load() { "$bin/indgang-load" --url "$url" --token "$token" --sender kif-load "$@"; }
count() {
  python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
    "$work/data/indgang.db" "$1"
}
queued() { count "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'retrying')"; }
drain() { while [ "$(queued)" -gt 0 ]; do sleep 0.5; done; }

echo "== set-up: 10,000 dead letters"
(
  export INDGANG__DESTINATIONS__GONE__TYPE=webhook INDGANG__DESTINATIONS__GONE__URL=http://127.0.0.1:9/
  export INDGANG__DESTINATIONS__GONE__SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  export INDGANG__ROUTING__DESTINATIONS=gone
  start
  load -n 10000 -c 64 --rate 4000 > /dev/null
  stop
)
start
while [ "$(count "SELECT COUNT(*) FROM deliveries WHERE state = 'dead'")" -lt 10000 ]; do sleep 0.5; done
drain
echo "dead letters: $(count "SELECT COUNT(*) FROM deliveries WHERE state = 'dead'")"

# 10,000 housing offers from the allocation office's sample row, each with its own offer id.
python3 - "$work/batch.csv" <<'EOF'
import sys
rows = ["Tilbud_ID;Tilbudstype;Kommune;Sendt;Adresse;Postnr;By;Boligorganisation;Boligtype;Værelser;m²;Husleje;Depositum;Hund;Kat;Ledig fra;Svarfrist;Bemærkninger"]
for i in range(10000):
    rows.append(f"LOAD-{i:05};tilbud;751;16-11-2026 08:30;Ellekærvej {i % 90 + 1};8240;Risskov;Boligforeningen Ringgården;almen bolig;2;61;5.212,75;15638;ja;nej;01-01-2027;27-11-2026;")
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(rows) + "\n")
EOF

messages=$((seconds * 2000))
load -n 5000 -c 64 --rate 2000 > /dev/null   # warm-up
drain
echo "== 2,000 messages/s for $seconds s, on its own"
load -n "$messages" -c 64 --rate 2000
drain
echo "== 2,000 messages/s for $seconds s, while the large jobs run (they start after 2 s)"
load -n "$messages" -c 64 --rate 2000 > "$work/with-jobs.txt" &
loader=$!
sleep 2
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$work/$name.out"
  t1=$(date +%s.%N)
  python3 -c "import sys; print(f'{sys.argv[1]:<8} {float(sys.argv[3]) - float(sys.argv[2]):6.1f} s  {sys.argv[4]}')" \
    "$name" "$t0" "$t1" "$(head -c 160 "$work/$name.out" | tr -d '\n')"
}
jobs=()
wanted() { [[ " ${JOBS:-batch replay report} " == *" $1 "* ]]; }
if wanted batch; then
timed batch curl -sf -X POST "$url/v1/housing-offers/batch" -H "Authorization: Bearer $housing" \
  -H "Content-Type: text/csv; charset=utf-8" --data-binary "@$work/batch.csv" &
jobs+=($!)
fi
if wanted replay; then
timed replay curl -sf -X POST "$url/v1/dead-letters/replay" -H "Authorization: Bearer $operator" \
  -H "Content-Type: application/json" -d '{"all": true}' &
jobs+=($!)
fi
if wanted report; then
timed report curl -sf "$url/v1/reports/teams" -H "Authorization: Bearer $operator" &
jobs+=($!)
fi
wait "${jobs[@]}" "$loader"
cat "$work/with-jobs.txt"
wanted batch && echo "batch: $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a["accepted"], "accepted,", a["rejected"], "rejected")' "$work/batch.out")"
wanted replay && echo "replay: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["replayed"]), "replayed")' "$work/replay.out")"
grep VmHWM "/proc/$server/status"
