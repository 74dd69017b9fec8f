#!/usr/bin/env python3
"""Where a benchmark's CPU time goes, per message, read from /proc (Linux only).

    tools/cpu.py snapshot PID            one line of JSON: CPU ticks per thread group, WAL bytes
    tools/cpu.py report BEFORE AFTER N   the difference of two snapshots, per message
    tools/cpu.py run N -- COMMAND...     runs COMMAND and prints its own CPU time per message
    tools/cpu.py total PID...            CPU microseconds used so far by these processes, in all
    tools/cpu.py postgres                CPU microseconds used so far by every process named
                                         postgres (the server and its backends, any user's)

The gateway's threads are grouped by name: the HTTP workers, the writer, the syncer, the
checkpointer, and the rest of the process's time (the runtime's threads: delivery worker,
scheduler, blocking pool). The writer's bytes handed to write(2) are the WAL it wrote.
tools/bench.sh prints these after each load; tools/bench-postgres.sh takes `total` of its
gateways and `postgres` before and after each load.
"""

import json
import os
import resource
import subprocess
import sys

TICK_MICROS = 1e6 / os.sysconf("SC_CLK_TCK")
# Thread names as /proc shows them (cut to 15 bytes). The threads of the runtime (delivery
# worker, scheduler) and its blocking pool come and go, and an ended thread's time is only in the
# process's total: they are counted as what the total leaves.
GROUPS = [
    ("actix-server w", "HTTP workers"),
    ("indgang-writer", "writer"),
    ("indgang-syncer", "syncer"),
    ("indgang-checkpo", "checkpointer"),
]
REST = "runtime and other"


def ticks_of(stat_path):
    with open(stat_path) as f:
        # The name may hold spaces; the fields after its closing parenthesis do not.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def snapshot(pid):
    ticks = {group: 0 for _, group in GROUPS}
    total = ticks_of(f"/proc/{pid}/stat")
    wal = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{task}"
        try:
            with open(f"{base}/comm") as f:
                name = f.read().strip()
            used = ticks_of(f"{base}/stat")
            if name == "indgang-writer":
                with open(f"{base}/io") as f:
                    wal = next(int(line.split()[1]) for line in f if line.startswith("wchar"))
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        group = next((group for prefix, group in GROUPS if name.startswith(prefix)), None)
        if group:
            ticks[group] += used
    ticks[REST] = total - sum(ticks.values())
    return {"ticks": ticks, "wal": wal}


def report(before, after, messages):
    before, after = json.loads(before), json.loads(after)
    per = {
        group: (after["ticks"][group] - before["ticks"][group]) * TICK_MICROS / messages
        for group in after["ticks"]
    }
    total = sum(per.values())
    wal = (after["wal"] - before["wal"]) / messages / 1024
    print(f"server CPU {total:.0f} us/message, WAL written {wal:.1f} KB/message")
    print("  " + ", ".join(f"{group} {micros:.0f}" for group, micros in per.items()) + " (us/message)")


def run(messages, command):
    status = subprocess.run(command).returncode
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    micros = (usage.ru_utime + usage.ru_stime) * 1e6 / messages
    print(f"load generator CPU {micros:.0f} us/message")
    return status


def total(pids):
    return sum(ticks_of(f"/proc/{pid}/stat") for pid in pids) * TICK_MICROS


def postgres():
    """Every postgres process's time. A backend that ended between two readings takes its time
    with it: the gateways keep their pooled connections, so under load few end."""
    used = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            used += ticks_of(f"/proc/{pid}/stat")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return used * TICK_MICROS


def main(args):
    if args[:1] == ["snapshot"] and len(args) == 2:
        print(json.dumps(snapshot(int(args[1]))))
    elif args[:1] == ["report"] and len(args) == 4:
        report(args[1], args[2], int(args[3]))
    elif args[:1] == ["total"] and len(args) > 1:
        print(f"{total(args[1:]):.0f}")
    elif args == ["postgres"]:
        print(f"{postgres():.0f}")
    elif args[:1] == ["run"] and len(args) > 3 and args[2] == "--":
        return run(int(args[1]), args[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
