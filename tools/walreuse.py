#!/usr/bin/env python3
"""Which b-trees a WAL's frames belong to, and how often they write the same page again.

    tools/walreuse.py DB    (DB-wal beside it: both copied from a stopped process, e.g. after SIGSTOP)

Prints the frames per commit, then per b-tree its frames per commit, the pages it wrote for the first time in
this WAL per commit, and the share of its frames that rewrite a page an earlier commit already wrote (a
checkpoint copies only the latest copy of a page). Needs Python's sqlite3 with the dbstat table.
"""
import sqlite3, struct, sys, collections, shutil, tempfile
db = sys.argv[1]
wal = open(db + "-wal", "rb").read()
_, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
frames, off = [], 32
while off + 24 + page_size <= len(wal):
    pgno, commit, s1, s2, _, _ = struct.unpack(">IIIIII", wal[off:off + 24])
    if (s1, s2) != (salt1, salt2):
        break
    frames.append((pgno, commit)); off += 24 + page_size
tmp = tempfile.mkdtemp()
shutil.copy(db, tmp + "/d.db"); shutil.copy(db + "-wal", tmp + "/d.db-wal")
c = sqlite3.connect(tmp + "/d.db")
owner = {pg: name for name, pg in c.execute("select name, pageno from dbstat")}
commits = sum(1 for _, k in frames if k)
per = collections.defaultdict(lambda: [0, set()])
for pgno, _ in frames:
    e = per[owner.get(pgno, "?")]; e[0] += 1; e[1].add(pgno)
tot = len(frames); dist = len({p for p, _ in frames})
print(f"{tot} frames, {commits} commits, {tot/commits:.1f} frames/commit, {dist} distinct pages: {100*(1-dist/tot):.0f} % of frames rewrite a page")
for name, (n, s) in sorted(per.items(), key=lambda x: -x[1][0]):
    print(f"  {name:<34} {n/commits:6.2f} frames/commit  {len(s)/commits:6.2f} new pages/commit  rewrites {100*(1-len(s)/n):3.0f} %")
