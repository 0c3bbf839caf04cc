#!/usr/bin/env python3
"""Soak test of `mystyle serve` (issue 12): many keep-alive connections for minutes, a mix of photo
queries (recommend, complete), catalog reads (items, outfits, thumbnails) and 5% hostile uploads
(truncated JPEG, a PNG declaring 100k x 100k pixels, text named .jpg, an upload over the size limit,
an empty body). It reports requests/s, p50/p99 per kind, statuses, dropped connections, /healthz
polled every second on its own connection, and the server's RSS after warm-up and at the end.

With --edits-per-second R (issue 25), one more connection edits the catalog through the admin API at
R a second: adds an item with a photo (the workspace's photos, under new source ids), and deletes each
added item once 20 later ones are in; every edit must succeed (201 / 204), and the report gives their
latencies and /healthz's count of edits applied in place. The items it adds are deleted at the end.

Pass: no 5xx other than 503 (the photo-query limit), no dropped connection, /healthz always 200,
RSS within 10% of its value after warm-up (the median of the last minute of load against that of the
first minute after warm-up; RSS is sampled every second), every edit answered 201 / 204.

Usage: bench/soak.py --workspace WS [--mystyle BIN] [--minutes 10] [--connections 64]
                     [--warmup 60] [--threads N] [--serve-args "..."] [--edits-per-second 0]
                     [--log FILE] [--json FILE]
The server runs with its own settings (no --threads) unless asked; the workspace is only read, but for
the edits (which leave the catalog as it was, ids aside).
Standard-library Python only.
"""
import argparse
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def multipart(field, filename, content_type, data):
    boundary = "----mystylesoak%016x" % random.getrandbits(64)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def multipart_fields(fields, filename, data):
    """A form of text fields and the photo in field `image`."""
    boundary = "----mystylesoak%016x" % random.getrandbits(64)
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                    for k, v in fields.items())
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n"
             f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def hostile_uploads(photo, limit_bytes):
    """(name, body bytes, content type) the server must refuse with a 4xx."""
    png_bomb = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + (100000).to_bytes(4, "big") * 2 +
                b"\x08\x02\x00\x00\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00IDAT\x00\x00\x00\x00")
    return [
        ("truncated.jpg", photo[: len(photo) // 2], "image/jpeg"),
        ("bomb.png", png_bomb, "image/png"),
        ("notes.jpg", b"this is not an image at all\n" * 20, "image/jpeg"),
        ("huge.jpg", photo + os.urandom(limit_bytes), "image/jpeg"),
        ("empty.jpg", b"", "image/jpeg"),
    ]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {}
        self.status = {}
        self.dropped = 0
        self.unexpected = []
        self.requests = 0

    def add(self, kind, status, seconds):
        with self.lock:
            self.requests += 1
            self.latency.setdefault(kind, []).append(seconds)
            key = f"{kind} {status}"
            self.status[key] = self.status.get(key, 0) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--mystyle", default="build/release/src/cli/mystyle")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--warmup", type=float, default=60, help="seconds before the reference RSS is taken")
    ap.add_argument("--serve-args", default="", help="extra `mystyle serve` options, e.g. '--keep-alive 5'")
    ap.add_argument("--threads", type=int, default=0, help="`mystyle serve --threads` (default: the server's own)")
    ap.add_argument("--edits-per-second", type=float, default=0,
                    help="admin edits a second (adds, and deletes of what was added) on one more connection")
    ap.add_argument("--log", help="the server's log (default: a file in the temporary folder)")
    ap.add_argument("--json")
    a = ap.parse_args()

    db = sqlite3.connect(os.path.join(a.workspace, "catalog.db"))
    items = [r[0] for r in db.execute("SELECT id FROM items WHERE image_path IS NOT NULL")]
    outfits = [r[0] for r in db.execute("SELECT id FROM outfits")]
    paths = [r[0] for r in db.execute("SELECT image_path FROM items WHERE image_path IS NOT NULL LIMIT 300")]
    db.close()
    photos = [open(p, "rb").read() for p in paths]
    upload_limit = 16 << 20

    port = free_port()
    # The server's own settings unless asked (before issue 26 a keep-alive connection held one of
    # a fixed number of workers, and this script passed --threads connections + 8).
    threads = a.threads
    # The server logs a line per request: to a file (a pipe nobody reads would fill and stall it),
    # outside the workspace, which the soak only reads.
    log_path = a.log or os.path.join(tempfile.gettempdir(), f"mystyle-soak-server-{os.getpid()}.log")
    log = open(log_path, "w")
    token = "soak-admin-token-%016x" % random.getrandbits(64)
    server = subprocess.Popen([a.mystyle, "serve", "--workspace", a.workspace, "--port", str(port)] +
                              (["--threads", str(threads)] if threads else []) +
                              (["--admin-token", token] if a.edits_per_second > 0 else []) + a.serve_args.split(),
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        print("the server did not start: " + open(log_path).read()[-2000:])
        return 1

    stats = Stats()
    stop = threading.Event()
    health = {"ok": 0, "failed": 0}
    rss = {"start": 0, "end": 0, "max": 0, "samples": []}
    started = time.time()

    def monitor():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            try:
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                health["ok" if r.status == 200 else "failed"] += 1
            except (OSError, http.client.HTTPException):
                health["failed"] += 1
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            kb = rss_kb(server.pid)
            rss["samples"].append((round(time.time() - started, 1), kb))
            rss["max"] = max(rss["max"], kb)
            if not rss["start"] and time.time() - started >= a.warmup:
                rss["start"] = kb
            stop.wait(1.0)

    def client(seed):
        rng = random.Random(seed)
        hostile = hostile_uploads(photos[seed % len(photos)], upload_limit)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            roll = rng.random()
            headers = {}
            if roll < 0.35:
                kind, method = "recommend", "POST"
                body, ctype = multipart("image", "photo.jpg", "image/jpeg", rng.choice(photos))
                url, headers = "/api/recommend", {"Content-Type": ctype}
            elif roll < 0.45:
                kind, method = "complete", "POST"
                body, ctype = multipart("image", "photo.jpg", "image/jpeg", rng.choice(photos))
                url, headers = "/api/complete?outfits=2", {"Content-Type": ctype}
            elif roll < 0.65:
                kind, method, body, url = "item", "GET", None, f"/api/items/{rng.choice(items)}"
            elif roll < 0.75:
                kind, method, body, url = "outfit", "GET", None, f"/api/outfits/{rng.choice(outfits)}"
            elif roll < 0.95:
                kind, method, body, url = "image", "GET", None, f"/images/items/{rng.choice(items)}"
            else:
                kind, method = "hostile", "POST"
                name, data, ctype = rng.choice(hostile)
                body, mtype = multipart("image", name, ctype, data)
                url, headers = "/api/recommend", {"Content-Type": mtype}
            t = time.perf_counter()
            try:
                conn.request(method, url, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                status = r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            except (OSError, http.client.HTTPException) as e:
                # A refused oversized upload may be answered (413) before the body is all sent and
                # the connection closed: that is the server protecting itself, not a drop.
                if kind == "hostile" and len(body) > upload_limit:
                    stats.add(kind, "closed-early", time.perf_counter() - t)
                else:
                    with stats.lock:
                        stats.dropped += 1
                        if len(stats.unexpected) < 20:
                            stats.unexpected.append(f"{kind} {url}: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            stats.add(kind, status, time.perf_counter() - t)
            bad = status >= 500 and status != 503
            bad = bad or (kind == "hostile" and not (400 <= status < 500 or status == 503))
            bad = bad or (kind in ("item", "outfit", "image") and status != 200)
            if bad:
                with stats.lock:
                    if len(stats.unexpected) < 20:
                        stats.unexpected.append(f"{kind} {url}: {status}")

    edit_ids = []
    edit_failures = []

    def editor():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        auth = {"Authorization": f"Bearer {token}"}
        n = 0

        def send(kind, method, url, body=None, headers=None):
            nonlocal conn
            t = time.perf_counter()
            try:
                conn.request(method, url, body=body, headers={**auth, **(headers or {})})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as e:
                with stats.lock:
                    stats.dropped += 1
                edit_failures.append(f"{kind}: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                return None, None
            stats.add(kind, r.status, time.perf_counter() - t)
            return r.status, data

        def delete_oldest():
            status, _ = send("edit-delete", "DELETE", f"/api/items/{edit_ids.pop(0)}")
            if status is not None and status != 204:
                edit_failures.append(f"delete: {status}")

        next_at = time.time()
        while not stop.is_set():
            n += 1
            body, ctype = multipart_fields({"source_id": f"soak-{os.getpid()}-{n}", "name": f"Soak piece {n}",
                                            "category": "Tops", "type": "T-shirt"}, "photo.jpg",
                                           photos[n % len(photos)])
            status, data = send("edit-add", "POST", "/api/items", body, {"Content-Type": ctype})
            if status == 201:
                edit_ids.append(json.loads(data)["item_id"])
            elif status is not None:
                edit_failures.append(f"add: {status} {data[:200]!r}")
            if len(edit_ids) > 20:
                delete_oldest()
            next_at += 1.0 / a.edits_per_second
            stop.wait(max(0.0, next_at - time.time()))
        while edit_ids:
            delete_oldest()

    mon = threading.Thread(target=monitor, daemon=True)
    mon.start()
    edit_thread = None
    if a.edits_per_second > 0:
        edit_thread = threading.Thread(target=editor, daemon=True)
        edit_thread.start()
    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.connections)]
    for w in workers:
        w.start()
    end = started + a.minutes * 60
    while time.time() < end:
        time.sleep(5)
        elapsed = time.time() - started
        print(f"soak: {elapsed:5.0f} s, {stats.requests} requests ({stats.requests / elapsed:.0f}/s), "
              f"{stats.dropped} dropped, RSS {rss_kb(server.pid) / 1024:.0f} MiB", file=sys.stderr, flush=True)
    stop.set()
    for w in workers:
        w.join(timeout=70)
    mon.join(timeout=15)
    if edit_thread:
        edit_thread.join(timeout=120)
    health_doc = {}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/healthz")
        health_doc = json.loads(c.getresponse().read())
    except (OSError, http.client.HTTPException, ValueError):
        pass
    rss["end"] = rss_kb(server.pid)
    elapsed = time.time() - started
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()

    def pct(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(p * (len(v) - 1)))] * 1000

    by_kind = {k: {"requests": len(v), "p50_ms": round(pct(v, 0.5), 2), "p99_ms": round(pct(v, 0.99), 2)}
               for k, v in sorted(stats.latency.items())}
    five_xx = sum(n for k, n in stats.status.items() if k.split()[1].isdigit() and int(k.split()[1]) >= 500
                  and k.split()[1] != "503")
    # RSS swings by a few percent from one second to the next under load (requests' buffers, the
    # allocator's per-thread arenas): the growth is judged on the median of a minute of samples, the
    # first minute after warm-up against the last minute of load, not on two single samples.
    load_end = max((t for t, _ in rss["samples"]), default=0)
    first_minute = [kb for t, kb in rss["samples"] if a.warmup <= t < a.warmup + 60]
    last_minute = [kb for t, kb in rss["samples"] if t >= max(a.warmup + 60, load_end - 60)]
    rss_first = statistics.median(first_minute) if first_minute else 0
    rss_last = statistics.median(last_minute) if last_minute else 0
    rss_ok = rss_first > 0 and rss_last > 0 and abs(rss_last - rss_first) <= 0.10 * rss_first
    per_minute = {}
    for t, kb in rss["samples"]:
        per_minute.setdefault(int(t // 60), []).append(kb)
    rss_minutes = {f"minute {m + 1}": round(statistics.median(v) / 1024, 1) for m, v in sorted(per_minute.items())}
    result = {
        "seconds": round(elapsed, 1),
        "connections": a.connections,
        "server_threads": threads or "default",
        "server_log": log_path,
        "requests": stats.requests,
        "requests_per_s": round(stats.requests / elapsed, 1),
        "by_kind": by_kind,
        "statuses": dict(sorted(stats.status.items())),
        "five_xx_other_than_503": five_xx,
        "dropped_connections": stats.dropped,
        "healthz": health,
        "rss_mib": {"after_warmup": round(rss["start"] / 1024, 1), "end": round(rss["end"] / 1024, 1),
                    "max": round(rss["max"] / 1024, 1),
                    "median_first_minute_after_warmup": round(rss_first / 1024, 1),
                    "median_last_minute": round(rss_last / 1024, 1),
                    "growth_percent": round(100 * (rss_last - rss_first) / rss_first, 1) if rss_first else None,
                    "median_per_minute": rss_minutes},
        "rss_within_10_percent": rss_ok,
        "unexpected": stats.unexpected,
    }
    if a.edits_per_second > 0:
        result["edits"] = {"per_second_asked": a.edits_per_second, "failures": edit_failures[:20],
                           "in_place": health_doc.get("edits_in_place"), "reopens": health_doc.get("reloads"),
                           "last_reopen": health_doc.get("last_reopen")}
    result["pass"] = (five_xx == 0 and stats.dropped == 0 and health["failed"] == 0 and rss_ok and
                      not stats.unexpected and not edit_failures)
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
