#!/usr/bin/env bash
# Instructions per accepted message, counted by valgrind's callgrind: a figure that, unlike CPU
# time on this shared two-core machine (20-30 % from run to run), comes out the same within a
# percent or two from run to run, so that a change can be judged by it. It counts the
# instructions run in user space only: the kernel's share (system calls, TCP, fsync) is not in
# it, and it runs the code paths of the CPU valgrind emulates (no AVX-512, no SHA extensions).
#   tools/instructions.sh [MESSAGES] [CONCURRENCY]
# Prints, per message:
#  1. the pipeline bench's stages (benches/pipeline.rs with PIPELINE_FILING=no): parsing, schema
#     and domain rules, routing and deadline planning, canonical form and sealing;
#  2. the whole server (`indgang serve`, release build, under callgrind with --separate-threads),
#     MESSAGES release notices from indgang-load after a warm-up, counted from zeroed counters,
#     and beside it an idle stretch of the same length; per group of threads as tools/cpu.py groups
#     them, and the HTTP workers' instructions under their biggest functions (inclusive);
#  3. the load generator's own (under callgrind against the server run natively): the
#     difference between a run of MESSAGES and one of MESSAGES/10, per message of the difference.
# Under valgrind the server takes a few dozen to a few hundred messages a second; the default
# 2,000 messages and the whole script take some minutes. On a busy machine some requests may
# time out under valgrind (408, or a closed connection): the server's figures are per message
# accepted, and fewer clients (CONCURRENCY 16) avoid the timeouts.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-2000}
concurrency=${2:-64}
port=${PORT:-18182}
stage_messages=${STAGE_MESSAGES:-2000}
echo "== $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' (with changes)'), $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
# One release build of the server, the load generator and the pipeline bench (the bench with the
# release profile, so that it shares the library with the server); BIN=DIR measures the binaries
# indgang, indgang-load and pipeline copied there instead (e.g. a baseline kept aside).
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  bin=$(mktemp -d)
  # (--bench alone would leave indgang-load out: two builds, one library.)
  { cargo build --release -q -p indgang -p indgang-load --message-format=json
    cargo build --release -q -p indgang --bench pipeline --message-format=json; } |
    python3 -c 'import json, sys, shutil
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("indgang", "indgang-load", "pipeline"):
        shutil.copy(m["executable"], sys.argv[1] + "/" + m["target"]["name"])' "$bin"
fi
bench=$bin/pipeline
work=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; fi; rm -rf "$work"; [ -n "${BIN:-}" ] || rm -rf "$bin"' EXIT

# The inclusive instructions of each function whose name matches a pattern, from a profile.
annotate() { callgrind_annotate --inclusive=yes --threshold=100 "$@" 2>/dev/null; }
ir_total() { # the total of one or more profiles
  python3 -c 'import sys
t = 0
for path in sys.argv[1:]:
    for line in open(path, errors="replace"):
        if line.startswith("totals:") or line.startswith("summary:"):
            t += int(line.split()[1]); break
print(t)' "$@"
}

echo "== pipeline stages ($stage_messages release notices of $(PIPELINE_MESSAGES=1 PIPELINE_FILING=no "$bench" | sed -n 's/message size *//p'), benches/pipeline.rs)"
PIPELINE_MESSAGES=$stage_messages PIPELINE_FILING=no valgrind --tool=callgrind \
  --callgrind-out-file="$work/pipeline.out" "$bench" > /dev/null 2> "$work/pipeline.err"
annotate "$work/pipeline.out" | python3 -c '
import re, sys
n = int(sys.argv[1])
names = [("stage_parse_serde_json", "parse JSON (serde_json)"), ("stage_parse", "parse JSON (gateway)"),
         ("stage_check", "schema + domain rules + warnings"), ("stage_plan", "route + plan deadlines"),
         ("stage_seal", "canonicalise + seal")]
found = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) .*pipeline::(stage_\w+)", line)
    if m and m.group(2) not in found:
        found[m.group(2)] = int(m.group(1).replace(",", ""))
for key, label in names:
    if key in found:
        print(f"  {label:<36} {found[key] / n:>9,.0f} instructions/message")
' "$stage_messages"

export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn
# No team email falls due while counting (the default window is two minutes, and under valgrind
# the warm-up's alerts would fall due in the idle stretch).
export INDGANG__ALERTS__GROUP_WINDOW=30m
token=$($bin/indgang token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
load() { $bin/indgang-load --url "http://127.0.0.1:$port" --token "$token" --sender kif-load "$@"; }
ready() { for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && return 0; sleep 0.2; done; return 1; }

echo "== the server: $messages release notices, $concurrency clients, under callgrind"
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/server.out" \
  $bin/indgang serve > "$work/serve.log" 2>&1 &
server=$!
ready
load -n 500 -c "$concurrency" > /dev/null # warm-up
callgrind_control -z "$server" > /dev/null
started=$(date +%s.%N)
load -n "$messages" -c "$concurrency" > "$work/load.txt"
elapsed=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$started" "$(date +%s.%N)")
callgrind_control -d "$server" > /dev/null
mkdir "$work/busy" "$work/idle"
mv "$work"/server.out.* "$work/busy/"
# The same stretch with nothing to do: the runtime's, scheduler's and checkpointer's polling.
callgrind_control -z "$server" > /dev/null
sleep "$elapsed"
callgrind_control -d "$server" > /dev/null
mv "$work"/server.out.* "$work/idle/"
kill "$server"; wait "$server" 2>/dev/null || true; server=
grep -E "throughput|statuses" "$work/load.txt" | sed 's/^/  /'
# Per message accepted: under valgrind on a busy machine some requests may time out (408).
accepted=$(sed -n 's/.*202: \([0-9]*\).*/\1/p' "$work/load.txt")
# The threads by the functions they run: the groups of tools/cpu.py.
python3 - "$work" "$accepted" <<'EOF'
import glob, os, re, sys
work, n = sys.argv[1], int(sys.argv[2])
groups = [("HTTP workers", r"actix_http::h1::dispatcher"), ("writer", r"sqlite::writer::run"),
          ("syncer", r"sqlite::writer::sync"), ("checkpointer", r"sqlite::checkpointer::run")]
def per_group(folder):
    out = {}
    for path in glob.glob(os.path.join(folder, "*")):
        text = open(path, errors="replace").read()
        total = next((int(l.split()[1]) for l in text.splitlines() if l.startswith(("totals:", "summary:"))), 0)
        group = next((g for g, pattern in groups if re.search(pattern, text)), "runtime and other")
        out[group] = out.get(group, 0) + total
    return out
busy, idle = per_group(f"{work}/busy"), per_group(f"{work}/idle")
names = [g for g, _ in groups] + ["runtime and other"]
rows = [(g, busy.get(g, 0) / n, idle.get(g, 0) / n) for g in names]
# The idle stretch is shown beside, not taken off: the checkpointer copies back after the load
# what the load wrote, which is the messages' work.
print(f"  server in all {sum(b for _, b, _ in rows):>10,.0f} instructions/message; in an idle stretch as long {sum(i for _, _, i in rows):,.0f}")
for g, b, i in rows:
    print(f"    {g:<20} {b:>10,.0f}   (idle {i:,.0f})")
EOF
echo "  the HTTP workers' biggest functions (inclusive, instructions per message accepted):"
workers=$(grep -l "actix_http::h1::dispatcher" "$work"/busy/*)
# callgrind_annotate reads one profile at a time: each worker's, summed by function.
for profile in $workers; do annotate "$profile"; done | python3 -c '
import re, sys
n = int(sys.argv[1])
wanted = re.compile(r"indgang::(intake|validation|intake::filing|vault|deadlines|routing|server|api::request_id|api::errors|shutdown|web::protect|access|auth|metrics)::[\w:<>]+|serde_json::ser::to_vec|lz4_flex::block::compress|chacha20poly1305|hmac|actix_http::h1::dispatcher::Dispatcher.*poll|tokio::runtime::io::driver|getrandom|uuid::v7")
totals = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(?:\?\?\?|[^:]+):(.*?)(?: \[.*\])?$", line)
    if m and wanted.search(m.group(2)):
        totals[m.group(2)] = totals.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
seen = set()
for name, count in sorted(totals.items(), key=lambda item: -item[1]):
    key = wanted.search(name).group(0)
    if key in seen:
        continue
    seen.add(key)
    print(f"    {count / n:>10,.0f}  {name[:110]}")
    if len(seen) == 30:
        break
' "$accepted"

echo "== the load generator: $messages and $((messages / 10)) messages under callgrind, the server natively"
$bin/indgang serve > "$work/serve2.log" 2>&1 &
server=$!
ready
load -n 2000 -c "$concurrency" > /dev/null # warm-up
for count in $((messages / 10)) "$messages"; do
  valgrind --tool=callgrind --callgrind-out-file="$work/load-$count.out" \
    $bin/indgang-load --url "http://127.0.0.1:$port" --token "$token" --sender kif-load \
    -n "$count" -c "$concurrency" > /dev/null 2> "$work/load-$count.err"
done
small=$(ir_total "$work/load-$((messages / 10)).out")
large=$(ir_total "$work/load-$messages.out")
python3 -c "import sys; s, l, a, b = map(int, sys.argv[1:]); print(f'  load generator {(l - s) / (b - a):>10,.0f} instructions/message')" \
  "$small" "$large" "$((messages / 10))" "$messages"

# System calls: the kernel's share that callgrind does not see, counted by strace attached to
# every thread of the server (run natively) for the same number of messages.
echo "== system calls per message: $messages release notices, the server under strace -f -c"
strace -f -c -o "$work/strace.txt" -p "$server" 2> /dev/null &
tracer=$!
sleep 1
load -n "$messages" -c "$concurrency" > /dev/null
kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
python3 - "$work/strace.txt" "$messages" <<'EOF'
import sys
n, rows, total = int(sys.argv[2]), [], 0
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 5 and parts[0][0].isdigit():
        calls, name = int(parts[3]), parts[-1]
        if name == "total":
            total = calls
        else:
            rows.append((calls, name))
print(f"  {total / n:.1f} system calls/message: " + ", ".join(f"{name} {calls / n:.2f}" for calls, name in sorted(rows, reverse=True)[:8]))
EOF
