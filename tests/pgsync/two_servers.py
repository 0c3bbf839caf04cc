#!/usr/bin/env python3
"""A catalog shared on PostgreSQL by two servers (issue 13).

Starts a real PostgreSQL in a temporary folder (initdb + pg_ctl, on a free loopback port), makes a
small trained workspace with the real CLI (MANGO outfits, one epoch), pushes it with
`mystyle catalog push`, then runs two `mystyle serve --catalog postgresql://...` processes, each
with its own workspace holding only the models, and checks:
  - both serve the pushed catalog (same counts, same ids);
  - an item added through server A (admin API) is recommended by server B for its own photo
    within 2 seconds, under the same id;
  - an outfit added through B is served by A within 2 seconds;
  - an item deleted through B disappears from both (item page 404, not among the similar items)
    within 2 seconds;
  - both apply these edits in place, their own and the other's (no reopen: /healthz's reloads stay);
  - a restarted server serves the same catalog, pulling only the changes made while it was down
    (its mirror's recorded position), an item added through B meanwhile included.
Everything is stopped and removed at the end, whatever happens.

Usage: two_servers.py MYSTYLE DATASETS [--json FILE]   (MYSTYLE_DATASETS, when set, overrides DATASETS)
Exit 0 when every check passes, 1 on a failure, 77 (skip) without PostgreSQL's server programs or MANGO.
"""
import argparse
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mango_sample  # noqa: E402  (the small MANGO catalog the system tests share)

TOKEN = "pgsync-test-token-0123456789"
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


class Postgres:
    """A throwaway cluster in `root`, owned by the `postgres` user when we are root (initdb refuses root)."""

    def __init__(self, root):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise FileNotFoundError("PostgreSQL's server programs (package postgresql)")
        self.bin = os.path.dirname(bins[-1])
        self.root = root
        self.data = os.path.join(root, "data")
        self.port = free_port()
        self.prefix = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.makedirs(self.data, exist_ok=True)
            os.chown(root, user.pw_uid, user.pw_gid)
            os.chown(self.data, user.pw_uid, user.pw_gid)
            self.prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        run(self.prefix + [f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "mystyle", "-E", "UTF8"])
        run(self.prefix + [f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "log"), "-w", "-o",
                           f"-p {self.port} -h 127.0.0.1 -k {self.data} -c fsync=off", "start"])
        self.url = f"postgresql://mystyle@127.0.0.1:{self.port}/postgres"

    def stop(self):
        subprocess.run(self.prefix + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"],
                       capture_output=True)


class Server:
    def __init__(self, mystyle, workspace, url, log, extra=()):
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [mystyle, "serve", "-w", workspace, "--catalog", url, "--port", "0", "--threads", "4",
             "--watch-ms", "100", "--admin-token", TOKEN, *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"serve did not start (see {log}): {line!r}")
        self.base = line.split("listening on", 1)[1].strip().rstrip("/")

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, method, path, body=None, headers=None):
        status, data = self.request(method, path, body, headers)
        return status, (json.loads(data) if data else None)

    def similar(self, photo_bytes, k=5):
        status, doc = self.json("POST", f"/api/recommend?k={k}", photo_bytes, {"Content-Type": "image/jpeg"})
        return [s["item_id"] for s in doc["similar"]] if status == 200 else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def multipart(fields, photo_name, photo_bytes):
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{photo_name}"\r\n'
                 f'Content-Type: image/jpeg\r\n\r\n'.encode() + photo_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}",
                             "Authorization": f"Bearer {TOKEN}"}


def within(seconds, probe):
    """Seconds until probe() is true, or None when it was not within `seconds`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if probe():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def make_workspace(mystyle, datasets, ws, outfits=25):
    mango = os.path.join(datasets, "mango")
    ids, rows, products = mango_sample.first_outfits(datasets, outfits)
    os.makedirs(ws, exist_ok=True)
    mango_sample.write_items(os.path.join(ws, "items.csv"), datasets, ids, products,
                             name=lambda i, r: r["des_product_type"])
    mango_sample.write_outfits(os.path.join(ws, "outfits.csv"), rows)
    run([mystyle, "import", "csv", "-w", ws, "--items", os.path.join(ws, "items.csv"), "--outfits",
         os.path.join(ws, "outfits.csv"), "--source", "mango", "--images-root", os.path.join(mango, "images")])
    run([mystyle, "train", "-w", ws, "--epochs", "1", "--batch", "16", "--threads", "2"])
    run([mystyle, "embed", "-w", ws, "--threads", "2"])
    # Photos no item of the workspace uses: the items the test adds.
    used = {os.path.basename(products[i]["des_filename"]) for i in ids}
    spare = sorted(p for p in glob.glob(os.path.join(mango, "images", "*.jpg")) if os.path.basename(p) not in used)
    return spare[:3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mystyle")
    ap.add_argument("datasets")
    ap.add_argument("--json")
    a = ap.parse_args()
    datasets = os.environ.get("MYSTYLE_DATASETS") or a.datasets
    if not os.path.exists(os.path.join(datasets, "mango", "product_data.csv")):
        print("skip: MANGO data set not found under", datasets)
        return 77
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        print("skip: PostgreSQL's server programs are not installed (package postgresql)")
        return 77
    tmp = tempfile.mkdtemp(prefix="mystyle-pgsync-")
    os.chmod(tmp, 0o755)
    pg, servers, figures = None, [], {}
    try:
        source = os.path.join(tmp, "source")
        spare = make_workspace(a.mystyle, datasets, source)
        pg = Postgres(os.path.join(tmp, "pg"))
        pushed = json.loads(run([a.mystyle, "catalog", "push", "-w", source, "--catalog", pg.url, "--json"]))
        check(pushed["items"] > 50 and pushed["vectors"] >= pushed["items"], f"push: {pushed}")
        # A second push without --replace is refused.
        second = subprocess.run([a.mystyle, "catalog", "push", "-w", source, "--catalog", pg.url],
                                capture_output=True, text=True)
        check(second.returncode != 0 and "--replace" in second.stderr, "a second push without --replace is refused")

        def replica(name):
            ws = os.path.join(tmp, name)
            shutil.copytree(os.path.join(source, "models"), os.path.join(ws, "models"))
            return Server(a.mystyle, ws, pg.url, os.path.join(tmp, f"{name}.log"))

        A, B = replica("a"), replica("b")
        servers += [A, B]
        ha, hb = A.json("GET", "/healthz")[1], B.json("GET", "/healthz")[1]
        check(ha["items"] == hb["items"] == pushed["items"] and ha["outfits"] == hb["outfits"] == pushed["outfits"],
              f"both serve the pushed catalog ({ha['items']}/{hb['items']} items, {ha['outfits']}/{hb['outfits']} outfits)")
        first_ids = A.json("GET", "/api/items?per_page=5")[1]["items"]
        first_b = B.json("GET", "/api/items?per_page=5")[1]["items"]
        check([i["item_id"] for i in first_ids] == [i["item_id"] for i in first_b], "the same ids on both")
        colours = [(i["colour"], i["colour_name"], i["colour_family"]) for i in first_ids]
        check(colours == [(i["colour"], i["colour_name"], i["colour_family"]) for i in first_b]
              and all(c[1] and c[2] for c in colours), f"the same colour names and families on both ({colours})")

        # Live edits from here on are applied in place by both servers (docs/live-edits.md): no reopen.
        reloads_before = {"A": ha["reloads"], "B": hb["reloads"]}
        edits_before = {"A": ha["edits_in_place"], "B": hb["edits_in_place"]}

        photo = open(spare[0], "rb").read()
        body, headers = multipart({"source_id": "shared-1", "name": "Shared piece", "category": "Tops",
                                   "type": "Shirt", "colour": "Blue", "colour_name": "NEGRO"}, "shared-1.jpg", photo)
        status, added = A.json("POST", "/api/items", body, headers)
        t_add = time.monotonic()  # A has answered: the edit is committed
        check(status == 201, f"POST /api/items on A: {status}")
        new_id = added["item_id"]
        check((A.similar(photo) or [None])[0] == new_id, "A recommends the new item at once")
        seen_b = within(5, lambda: (B.similar(photo) or [None])[0] == new_id)
        figures["add_seen_by_other_s"] = None if seen_b is None else round(time.monotonic() - t_add, 3)
        check(seen_b is not None and figures["add_seen_by_other_s"] < 2.0,
              f"B recommends the item added through A within 2 s (after {figures['add_seen_by_other_s']} s)")
        status_b, item_b = B.json("GET", f"/api/items/{new_id}")
        check(status_b == 200, "B serves the new item's page under the same id")
        check((item_b or {}).get("colour_family") == "black" and item_b.get("colour_name") == "NEGRO",
              f"B serves its colour name and family ({(item_b or {}).get('colour_name')}, {(item_b or {}).get('colour_family')})")
        check(B.request("GET", f"/images/items/{new_id}")[0] == 200, "B serves the new item's photo (from the database)")
        # The same (source, source_id) through the other server: refused, and the transaction leaves nothing.
        items_before = B.json("GET", "/healthz")[1]["items"]
        body, headers = multipart({"source_id": "shared-1", "name": "Again", "category": "Tops"}, "again.jpg", photo)
        status, again = B.json("POST", "/api/items", body, headers)
        check(status == 400 and "already in the catalog" in again.get("error", ""),
              f"adding shared-1 again through B is refused: {status} {again}")
        check(A.json("GET", "/healthz")[1]["items"] == B.json("GET", "/healthz")[1]["items"] == items_before,
              "the refused item changed neither server's catalog")

        outfit = {"source_id": "shared-look", "members": [{"item_id": first_ids[0]["item_id"]}, {"item_id": new_id}]}
        status, look = B.json("POST", "/api/outfits", json.dumps(outfit).encode(),
                              {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        t_outfit = time.monotonic()
        check(status == 201, f"POST /api/outfits on B: {status}")
        seen = within(5, lambda: A.json("GET", f"/api/outfits/{look['outfit_id']}")[0] == 200)
        figures["outfit_seen_by_other_s"] = None if seen is None else round(time.monotonic() - t_outfit, 3)
        check(seen is not None and figures["outfit_seen_by_other_s"] < 2.0,
              f"A serves the outfit added through B within 2 s ({figures['outfit_seen_by_other_s']} s)")

        status, _ = B.request("DELETE", f"/api/items/{new_id}", None, {"Authorization": f"Bearer {TOKEN}"})
        t_del = time.monotonic()
        check(status == 204, f"DELETE on B: {status}")
        check(B.json("GET", f"/api/items/{new_id}")[0] == 404 and new_id not in (B.similar(photo, 20) or [new_id]),
              "B no longer serves the deleted item")
        gone = within(5, lambda: A.json("GET", f"/api/items/{new_id}")[0] == 404 and
                      new_id not in (A.similar(photo, 20) or [new_id]))
        figures["delete_seen_by_other_s"] = None if gone is None else round(time.monotonic() - t_del, 3)
        check(gone is not None and figures["delete_seen_by_other_s"] < 2.0,
              f"the deleted item disappears from A within 2 s ({figures['delete_seen_by_other_s']} s)")
        check(A.json("GET", f"/api/outfits/{look['outfit_id']}")[0] == 404,
              "the outfit left with one piece is gone from A too")
        status, _ = A.request("DELETE", f"/api/items/{new_id}", None, {"Authorization": f"Bearer {TOKEN}"})
        check(status == 404, f"deleting the same item again through A: {status}, expected 404")
        for name, server in (("A", A), ("B", B)):
            h = server.json("GET", "/healthz")[1]
            figures[f"edits_in_place_{name}"] = h["edits_in_place"] - edits_before[name]
            check(h["reloads"] == reloads_before[name] and h["edits_in_place"] >= edits_before[name] + 3,
                  f"{name} applied the edits in place ({figures[f'edits_in_place_{name}']} in place, "
                  f"{h['reloads'] - reloads_before[name]} reopens; last reopen: {h['last_reopen']})")

        # Restart A: the same catalog (from the database, through its mirror). While it is down, B adds an
        # item; A's start resumes from the position its mirror recorded and pulls just that change.
        A.stop()
        servers.remove(A)
        body, headers = multipart({"source_id": "while-a-was-down", "name": "Late piece", "category": "Tops"},
                                  "late.jpg", open(spare[1], "rb").read())
        status, late = B.json("POST", "/api/items", body, headers)
        check(status == 201, f"POST /api/items on B while A is down: {status}")
        A2 = Server(a.mystyle, os.path.join(tmp, "a"), pg.url, os.path.join(tmp, "a2.log"))
        servers.append(A2)
        check(A2.json("GET", "/healthz")[1]["items"] == B.json("GET", "/healthz")[1]["items"],
              "a restarted server serves the same catalog")
        check(A2.json("GET", f"/api/items/{late['item_id']}")[0] == 200,
              "the restarted server serves the item added while it was down")
        started = open(os.path.join(tmp, "a2.log")).read()
        check("already mirrors it; changes since its last start: 1 pulled" in started,
              "the restart resumed from its mirror's position instead of copying the catalog again")
        # A mirror that names another database is copied again in full, never resumed.
        A2.stop()
        servers.remove(A2)
        position = os.path.join(tmp, "a", "mirror.json")
        doc = json.load(open(position))
        json.dump({**doc, "catalog": "another-database"}, open(position, "w"))
        A3 = Server(a.mystyle, os.path.join(tmp, "a"), pg.url, os.path.join(tmp, "a3.log"))
        servers.append(A3)
        check("vectors mirrored into" in open(os.path.join(tmp, "a3.log")).read() and
              A3.json("GET", "/healthz")[1]["items"] == B.json("GET", "/healthz")[1]["items"] and
              json.load(open(position))["catalog"] == doc["catalog"],
              "a mirror recorded for another database is copied again in full, and records this one")
        A2 = A3
        # Wrong token: refused by both.
        body, headers = multipart({"source_id": "x", "category": "Tops"}, "x.jpg", photo)
        headers["Authorization"] = "Bearer wrong"
        check(A2.request("POST", "/api/items", body, headers)[0] == 401, "a wrong admin token is refused")
    except FileNotFoundError as e:
        print("skip:", e)
        return 77
    except Exception as e:  # a step that could not run is a failure, with its reason
        failures.append(f"error: {e}")
        print("FAIL ", e)
    finally:
        for s in servers:
            s.stop()
        if pg:
            pg.stop()
        if failures:
            for log in glob.glob(os.path.join(tmp, "*.log")):
                print(f"--- {log}\n" + open(log).read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"failures": failures, **figures}, f, indent=2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
