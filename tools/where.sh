#!/usr/bin/env bash
# Where a message's CPU goes natively, the kernel's share included (which callgrind does not see):
# `perf record -a -e cpu-clock` over the whole machine while MESSAGES release notices go in at full
# speed from CONCURRENCY clients (after 5,000 of warm-up), then µs per message per thread group of
# the server, of the load generator and of everything else, each split into user and kernel time.
#   tools/where.sh [MESSAGES] [CONCURRENCY] [OUT]      (default 30000 64 /tmp/where)
# Needs perf (Debian's linux-perf) and root or perf_event_paranoid <= 0. BIN=DIR takes indgang and
# indgang-load from DIR instead of this tree's release build. For call graphs of one thread group:
# `perf record -e cpu-clock --call-graph dwarf -t TIDS`, then `perf report --children`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then cargo build --release -q -p indgang -p indgang-load; fi
bin=${BIN:-$PWD/target/release}
n=${1:-30000}; c=${2:-64}; out=${3:-/tmp/where}
port=${PORT:-18196}
work=$(mktemp -d)
export INDGANG__DATA_DIR="$work/data" INDGANG__SERVER__BIND="127.0.0.1:$port" INDGANG__LOG__LEVEL=warn INDGANG__ALERTS__GROUP_WINDOW=2m
token=$($bin/indgang token create --role sender --sender kif-load --kinds release-notice | tail -n 1)
$bin/indgang serve > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf $work' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
load=("$bin/indgang-load" --url "http://127.0.0.1:$port" --token "$token" --sender kif-load)
"${load[@]}" -n 5000 -c $c > /dev/null
sleep 0.5
perf record -a -e cpu-clock -F 1999 -o $out.data 2> /dev/null &
perfpid=$!
sleep 0.3
start=$(date +%s.%N)
"${load[@]}" -n $n -c $c > $out.load &
lp=$!
wait $lp
end=$(date +%s.%N)
grep -E 'throughput|latency' $out.load
kill -INT $perfpid; wait $perfpid || true
perf script -i $out.data -F pid,tid,comm,ip,dso 2>/dev/null > $out.script
python3 - "$out.script" "$n" "$start" "$end" "$server" "$lp" <<'PY'
import sys,re,collections
path,n,start,end,server,lp=sys.argv[1],int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),sys.argv[5],sys.argv[6]
counts=collections.Counter(); total=0
for line in open(path, errors='replace'):
    m=re.match(r'\s*(.*?)\s+(\d+)/(\d+)\s+\S+\s+\((.*)\)\s*$',line)
    if not m: continue
    comm,pid,tid,dso=m.group(1),m.group(2),m.group(3),m.group(4)
    total+=1
    k='kernel' if 'kernel' in dso else 'user'
    if pid==server:
        g=('HTTP workers' if comm.startswith('actix-server') else 'writer' if comm.startswith('indgang-writer') else
           'syncer' if comm.startswith('indgang-syncer') else 'checkpointer' if comm.startswith('indgang-checkpo') else 'runtime and other')
        g='server: '+g
    elif pid==lp: g='load generator'
    elif comm=='swapper': g='idle'
    else: g='others: '+comm
    counts[(g,k)]+=1
secs=end-start
# samples are taken on both CPUs at a fixed rate, so each sample is an equal slice of the two cores' time
us_per_sample=1e6/1999  # each sample stands for one period of the sampling clock on its CPU
print(f"{secs:.2f} s, {n} messages, {total} samples ({total/(2*secs*1999):.0%} of both CPUs' periods)")
groups=sorted({g for g,_ in counts}, key=lambda g:-(counts[(g,'user')]+counts[(g,'kernel')]))
server_total=0
for g in groups:
    u=counts[(g,'user')]*us_per_sample/n; k=counts[(g,'kernel')]*us_per_sample/n
    if g.startswith('server'): server_total+=u+k
    print(f"  {g:34s} {u+k:6.1f} us per message (user {u:5.1f}, kernel {k:5.1f})")
print(f"  server in all {server_total:.1f} us per message")
PY
