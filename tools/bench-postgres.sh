#!/usr/bin/env bash
# Throughput and latency of the gateway on PostgreSQL, one instance and three on one database:
# builds the release binaries, makes a fresh database on the server of INDGANG_BENCH_POSTGRES
# (default postgres://postgres@127.0.0.1:5432/postgres, a user allowed to create databases),
# starts the instances on it (one data folder, so one key file) and drives them with
# indgang-load, its clients spread over the instances round-robin (--url once per instance).
#   tools/bench-postgres.sh [MESSAGES] [CONCURRENCY] [INSTANCES...]   (default: 30000 64 1 3)
# For each number of instances, on a database of its own: a warm-up of 5,000 messages (no
# ANALYZE: the claim must not need fresh statistics, see docs/postgres.md), full speed with
# CONCURRENCY clients, then a fixed 2,000 messages/s for 20,000 messages. After each load it
# prints the CPU time per message of the gateways together and of PostgreSQL's processes
# (tools/cpu.py total / postgres) and how many deliveries (one team email per message, .eml
# files, as tools/bench.sh) are still queued. It does not wait for the outbox to empty as
# tools/bench.sh does: the delivery worker runs beside the loads and its CPU counts in the
# figures (on two shared cores it does not keep up with intake; see docs/benchmarks.md). It
# prints the server's synchronous_commit and fsync first: a 202 waits for the commit's WAL flush
# only when synchronous_commit is on. The databases are dropped at the end.
# The figures in docs/benchmarks.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-30000}
concurrency=${2:-64}
shift $(($# < 2 ? $# : 2))
counts=("${@:-1 3}")
read -r -a counts <<< "${counts[*]}"
admin=${INDGANG_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
port=${PORT:-18181}
cargo build --release -q -p indgang -p indgang-load
work=$(mktemp -d)
servers=()
database=""
stop_all() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  servers=()
  if [ -n "$database" ]; then psql "$admin" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)"; fi
  database=""
}
trap 'stop_all; rm -rf "$work"' EXIT
echo "== PostgreSQL: $(psql "$admin" -Atc 'SHOW server_version') at ${admin%%\?*}"
echo "synchronous_commit $(psql "$admin" -Atc 'SHOW synchronous_commit'), fsync $(psql "$admin" -Atc 'SHOW fsync'), wal_sync_method $(psql "$admin" -Atc 'SHOW wal_sync_method')"
echo "autovacuum $(psql "$admin" -Atc 'SHOW autovacuum'); load average $(cut -d' ' -f1-3 /proc/loadavg); RabbitMQ $(pgrep -f beam.smp > /dev/null && echo running || echo 'not running')"

bench() {
  local instances=$1
  database="indgang_bench_$$_$instances"
  psql "$admin" -qc "CREATE DATABASE \"$database\""
  rm -rf "$work/data"
  export INDGANG__DATA_DIR="$work/data" INDGANG__STORAGE__URL="${admin%/*}/$database" INDGANG__LOG__LEVEL=warn
  export INDGANG__ALERTS__GROUP_WINDOW="${GROUP_WINDOW:-0s}"
  ./target/release/indgang migrate > /dev/null
  local token operator urls=() i
  token=$(./target/release/indgang token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
  operator=$(./target/release/indgang token create --role operator | tail -n 1)
  for ((i = 0; i < instances; i++)); do
    INDGANG__SERVER__BIND="127.0.0.1:$((port + i))" ./target/release/indgang serve > "$work/serve-$i.log" 2>&1 &
    servers+=($!)
    urls+=(--url "http://127.0.0.1:$((port + i))")
  done
  for ((i = 0; i < instances; i++)); do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((port + i))/readyz" > /dev/null && break; sleep 0.1; done
  done
  queued() {
    curl -sf -H "Authorization: Bearer $operator" "http://127.0.0.1:$port/v1/status" |
      python3 -c 'import json,sys; print(sum(d["queue_depth"] for d in json.load(sys.stdin)["destinations"]))'
  }
  queued_now() { echo "$(queued) deliveries queued"; }
  usage() { echo "$(tools/cpu.py total "${servers[@]}") $(tools/cpu.py postgres)"; }
  per_message() {
    python3 -c "import sys; b=sys.argv[1].split(); a=sys.argv[2].split(); n=int(sys.argv[3]); print(f'CPU per message: gateways {(float(a[0])-float(b[0]))/n:.0f} us, PostgreSQL {(float(a[1])-float(b[1]))/n:.0f} us')" "$1" "$2" "$3"
  }
  local load=(./target/release/indgang-load "${urls[@]}" --token "$token" --sender kif-load)
  echo
  echo "==== $instances instance(s) on one database"
  "${load[@]}" -n 5000 -c "$concurrency" > /dev/null # warm-up
  echo "== full speed: $messages messages, $concurrency clients"
  local before
  before=$(usage)
  tools/cpu.py run "$messages" -- "${load[@]}" -n "$messages" -c "$concurrency"
  per_message "$before" "$(usage)" "$messages"
  queued_now
  echo "== fixed rate: 2000 messages/s, $concurrency clients, 20000 messages"
  before=$(usage)
  "${load[@]}" -n 20000 -c "$concurrency" --rate 2000
  per_message "$before" "$(usage)" 20000
  queued_now
  echo "== database size: $(psql "$admin" -Atc "SELECT pg_size_pretty(pg_database_size('$database'))")"
  stop_all
}

for instances in "${counts[@]}"; do
  bench "$instances"
done
