#!/usr/bin/env python3
"""Replicas of a large shared catalog (issue 25): how long an edit through one server takes to be
served by a second server on the same PostgreSQL, at the scale benchmark's size.

Starts a throwaway PostgreSQL (as tests/pgsync/two_servers.py does), pushes a workspace made by
bench/scale_bench.sh into it (`mystyle catalog push`, timed), starts two `mystyle serve --catalog`
replicas A and B, each with its own workspace holding the models and a copy of the source's index files
(the mirror's first pull writes the same rows, so the index is checked, not built again; the copy
is only to save the HNSW build), and times each start (the full pull of the catalog included). Then
--edits times: a photo added through A's admin API (POST /api/items), and the seconds from A's answer
until B serves it (its item page 200 and it is B's best match for its own photo); then the item
deleted through A, and the seconds until B no longer serves it (404, not among its 20 nearest).
Reports p50 / p99 / max of both, /healthz's in-place counts and reopens, and the replicas' VmRSS. Last,
B is stopped, A takes 10 adds, and B's restart is timed: it resumes from its mirror's position.

Usage: bench/replica_bench.py --source WS --photos FILE [--edits 50] [--mystyle BIN] [--dir DIR]
                              [--serve-args "--index hnsw"] [--json FILE]
  WS: the scale workspace (bench/scale_bench.sh's DIR/workspace); FILE: photos not in it, one path a
  line (DIR/csv/queries.txt). Everything lands in --dir (default: a new folder in /tmp), removed at the end.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pgsync"))
from two_servers import TOKEN, Postgres, Server, multipart, run  # noqa: E402


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1)))] if v else None


def seen(probe, limit=10.0, step=0.005):
    """Seconds until probe() is true (polled every `step` s), or None past `limit`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if probe():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--mystyle", default="build/release/src/cli/mystyle")
    ap.add_argument("--dir")
    ap.add_argument("--serve-args", default="--index hnsw")
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = a.dir or tempfile.mkdtemp(prefix="mystyle-replica-bench-")
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)
    photos = [line.strip() for line in open(a.photos) if line.strip()][: a.edits]
    pg, servers, result = None, [], {}
    try:
        pg = Postgres(os.path.join(tmp, "pg"))
        t = time.monotonic()
        pushed = json.loads(run([a.mystyle, "catalog", "push", "-w", a.source, "--catalog", pg.url, "--json"]))
        result["push"] = {"seconds": round(time.monotonic() - t, 1), **pushed}
        print(f"push: {result['push']}", flush=True)

        def replica(name):
            ws = os.path.join(tmp, name)
            shutil.copytree(os.path.join(a.source, "models"), os.path.join(ws, "models"))
            shutil.copytree(os.path.join(a.source, "index"), os.path.join(ws, "index"))
            t0 = time.monotonic()
            server = Server(a.mystyle, ws, pg.url, os.path.join(tmp, f"{name}.log"), a.serve_args.split())
            result[f"start_{name}_s"] = round(time.monotonic() - t0, 1)
            print(f"replica {name}: started in {result[f'start_{name}_s']} s (a full pull of the catalog)", flush=True)
            return server

        A = replica("a")
        servers.append(A)
        B = replica("b")
        servers.append(B)
        ha, hb = A.json("GET", "/healthz")[1], B.json("GET", "/healthz")[1]
        result["items"] = [ha["items"], hb["items"]]
        before = {n: (h["edits_in_place"], h["reloads"]) for n, h in (("A", ha), ("B", hb))}
        adds, deletes, failures = [], [], []
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for n, path in enumerate(photos):
            photo = open(path, "rb").read()
            body, headers = multipart({"source_id": f"replica-bench-{os.getpid()}-{n}", "name": "Replica piece",
                                       "category": "Tops", "type": "T-Shirt"}, "p.jpg", photo)
            status, added = A.json("POST", "/api/items", body, headers)
            if status != 201:
                failures.append(f"add {n}: {status} {added}")
                continue
            item = added["item_id"]
            s = seen(lambda: B.request("GET", f"/api/items/{item}")[0] == 200 and (B.similar(photo, 1) or [None])[0] == item)
            adds.append(s)
            status, _ = A.request("DELETE", f"/api/items/{item}", None, auth)
            if status != 204:
                failures.append(f"delete {n}: {status}")
                continue
            s = seen(lambda: B.request("GET", f"/api/items/{item}")[0] == 404 and item not in (B.similar(photo, 20) or [item]))
            deletes.append(s)
            if n % 10 == 9:
                done = [x for x in adds if x is not None]
                print(f"  {n + 1} adds and deletes through A; B served the adds after p50 "
                      f"{pct(done, 0.5) if done else float('nan'):.3f} s", flush=True)
        for name, server, key in (("A", A, "A"), ("B", B, "B")):
            h = server.json("GET", "/healthz")[1]
            result[f"healthz_{name}"] = {"edits_in_place": h["edits_in_place"] - before[key][0],
                                         "reopens": h["reloads"] - before[key][1], "last_reopen": h.get("last_reopen")}
            result[f"vmrss_{name}_mb"] = rss_mb(server.proc.pid)
        # B restarted while A takes 10 adds: its start resumes from its mirror's position (mirror.json),
        # pulling those 10 changes, not the whole catalog again.
        B.stop()
        servers.remove(B)
        late = []
        for n, path in enumerate(photos[:10]):
            body, headers = multipart({"source_id": f"replica-bench-late-{os.getpid()}-{n}", "name": "Late piece",
                                       "category": "Tops", "type": "T-Shirt"}, "p.jpg", open(path, "rb").read())
            status, added = A.json("POST", "/api/items", body, headers)
            if status == 201:
                late.append(added["item_id"])
        t0 = time.monotonic()
        B = Server(a.mystyle, os.path.join(tmp, "b"), pg.url, os.path.join(tmp, "b2.log"), a.serve_args.split())
        servers.append(B)
        result["restart_b_s"] = round(time.monotonic() - t0, 1)
        result["restart_b_log"] = [l.strip() for l in open(os.path.join(tmp, "b2.log")) if "shared catalog" in l]
        result["restart_b_serves_the_10_late_items"] = all(B.request("GET", f"/api/items/{i}")[0] == 200 for i in late)
        for i in late:
            A.request("DELETE", f"/api/items/{i}", None, auth)
        print(f"replica b: restarted in {result['restart_b_s']} s: {result['restart_b_log']}", flush=True)
        missed_adds = sum(1 for x in adds if x is None)
        missed_deletes = sum(1 for x in deletes if x is None)
        ok_adds = [x for x in adds if x is not None]
        ok_deletes = [x for x in deletes if x is not None]
        result["add_seen_by_b_s"] = {"n": len(adds), "missed_10s": missed_adds, "p50": round(pct(ok_adds, 0.5), 3),
                                     "p99": round(pct(ok_adds, 0.99), 3), "max": round(max(ok_adds), 3)}
        result["delete_seen_by_b_s"] = {"n": len(deletes), "missed_10s": missed_deletes,
                                        "p50": round(pct(ok_deletes, 0.5), 3), "p99": round(pct(ok_deletes, 0.99), 3),
                                        "max": round(max(ok_deletes), 3)}
        result["failures"] = failures
        worst = max(result["add_seen_by_b_s"]["p99"], result["delete_seen_by_b_s"]["p99"])
        result["target_2s_p99"] = "met" if worst <= 2.0 and not missed_adds and not missed_deletes else "NOT met"
    finally:
        for s in servers:
            s.stop()
        if pg:
            pg.stop()
        if not a.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if not result.get("failures") else 1


if __name__ == "__main__":
    sys.exit(main())
