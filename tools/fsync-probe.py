#!/usr/bin/env python3
"""The disk's own fsync latency, as the gateway's syncer meets it: a 4 KB write and an fdatasync
every INTERVAL milliseconds for SECONDS seconds, in a file of DIR, then the percentiles.

    tools/fsync-probe.py [SECONDS] [INTERVAL_MS] [DIR]      (default 20 5 the system's temp folder)

Run it on the machine alone before reading a benchmark's tail latencies: every message the
gateway acknowledges waits for an fdatasync of the WAL, so a disk whose fsyncs stall for a few
hundred milliseconds now and then puts those stalls into the gateway's p99 at a fixed rate
whatever the gateway does (and into a message broker's too). docs/benchmarks.md has an evening
where it did.
"""

import os
import sys
import tempfile
import time


def main(args):
    seconds = float(args[0]) if len(args) > 0 else 20.0
    interval = float(args[1]) / 1000 if len(args) > 1 else 0.005
    folder = args[2] if len(args) > 2 else tempfile.gettempdir()
    fd, path = tempfile.mkstemp(prefix="fsync-probe-", dir=folder)
    block = b"x" * 4096
    latencies = []
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            os.pwrite(fd, block, (len(latencies) % 256) * 4096)
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(interval)
    finally:
        os.close(fd)
        os.unlink(path)
    latencies.sort()
    n = len(latencies)

    def pct(p):
        return latencies[min(n - 1, max(0, int(n * p + 0.5) - 1))]

    print(
        f"{n} fdatasyncs of 4 KB in {folder}, ms: p50 {pct(0.5):.2f}  p99 {pct(0.99):.2f}  "
        f"p99.9 {pct(0.999):.2f}  max {latencies[-1]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
