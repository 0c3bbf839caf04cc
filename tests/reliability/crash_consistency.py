#!/usr/bin/env python3
"""Crash consistency: kill `mystyle import`, `train`, `embed` and index saving with SIGKILL at seeded
random moments, then check that the workspace is consistent (issue 12).

After every kill:
  - the workspace opens (`mystyle info --json`) and the catalog counts are exactly those before or
    after the killed import, never in between;
  - `train --resume` (or a fresh `train` when no checkpoint was written yet) continues and ends with
    the same model file, byte for byte, as a run never killed;
  - embeddings and the index are the old set or the new set: after the kill, `embed` then `recommend`
    give exactly the reference run's embeddings file and top-10;
  - temporary files (`*.tmp-*`) left by a killed writer are never what a later command reads: the
    later results equal the reference (they are counted and reported).

Usage: crash_consistency.py MYSTYLE DATASETS [--kills N] [--seed S] [--outfits N] [--json FILE]
(MYSTYLE_DATASETS, when set, overrides DATASETS.)
Exit 0 when every check passes, 1 on an inconsistency, 77 (skip) when the MANGO data set is absent.
"""
import argparse
import csv
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mango_sample  # noqa: E402  (the small MANGO catalog the system tests share)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Harness:
    def __init__(self, mystyle, root, seed):
        self.mystyle = mystyle
        self.root = root
        self.rng = random.Random(seed)
        self.kills = 0
        self.failures = []
        self.phases = {}
        self.temps = 0

    def run(self, args, check=True, timeout=600):
        p = subprocess.run([self.mystyle] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"mystyle {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
        return p

    def run_killed(self, args, after_s):
        """Starts mystyle, SIGKILLs it after `after_s` seconds (if still running). True if it was killed."""
        p = subprocess.Popen([self.mystyle] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=after_s)
            return False
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.kills += 1
            return True

    def timed(self, args):
        t = time.monotonic()
        self.run(args)
        return time.monotonic() - t

    def fail(self, phase, what):
        self.failures.append(f"{phase}: {what}")
        print(f"INCONSISTENT {phase}: {what}", flush=True)

    def info(self, ws):
        p = self.run(["info", "--workspace", ws, "--json"], check=False)
        if p.returncode != 0:
            return None, p.stderr.strip()
        doc = json.loads(p.stdout)
        return (doc["items"], doc["outfits"], doc["memberships"]), ""

    def run_full_disk(self, args, max_file_bytes):
        """Runs mystyle with no file allowed to grow past `max_file_bytes` (RLIMIT_FSIZE; SIGXFSZ
        ignored, so a write fails with EFBIG as on a full disk)."""
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        return subprocess.run([self.mystyle] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=limit, timeout=600)

    def count_temps(self, ws):
        """Temporary files a killed writer left in `ws` (counted before the round's folder goes)."""
        for dirpath, _, files in os.walk(ws):
            self.temps += sum(1 for f in files if ".tmp-" in f)

    def note(self, phase, killed):
        s = self.phases.setdefault(phase, {"runs": 0, "killed": 0})
        s["runs"] += 1
        s["killed"] += int(killed)


def make_dataset(datasets, out_dir, outfits):
    """The first `outfits` MANGO outfits with their products, split into two item files (to import
    in two steps: a kill during the second must leave exactly the first)."""
    ids, rows, products = mango_sample.first_outfits(datasets, outfits)
    half = len(ids) // 2
    mango_sample.write_items(os.path.join(out_dir, "items-a.csv"), datasets, ids[:half], products)
    mango_sample.write_items(os.path.join(out_dir, "items-all.csv"), datasets, ids, products)
    mango_sample.write_outfits(os.path.join(out_dir, "outfits.csv"), rows)
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mystyle")
    ap.add_argument("datasets")
    ap.add_argument("--kills", type=int, default=52)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--outfits", type=int, default=400)
    ap.add_argument("--json")
    a = ap.parse_args()
    a.datasets = os.environ.get("MYSTYLE_DATASETS") or a.datasets  # as the other tests find the data
    if not os.path.exists(os.path.join(a.datasets, "mango", "product_data.csv")):
        print(f"skipped: no MANGO data set under {a.datasets}")
        return 77

    root = tempfile.mkdtemp(prefix="mystyle-crash-")
    h = Harness(a.mystyle, root, a.seed)
    started = time.monotonic()
    try:
        data = os.path.join(root, "data")
        os.makedirs(data)
        make_dataset(a.datasets, data, a.outfits)
        items_a, items_all, outfits = (os.path.join(data, n) for n in ("items-a.csv", "items-all.csv", "outfits.csv"))
        images_root = os.path.join(a.datasets, "mango", "images")
        # Training on the first 150 photos keeps each run short; embedding and indexing cover them all.
        train_args = ["--model", "style", "--epochs", "3", "--batch", "16", "--threads", "2", "--seed", "3",
                      "--patience", "100", "--max-items", "150"]
        photo = None

        # The reference: never killed.
        ref = os.path.join(root, "reference")
        t_import_a = h.timed(["import", "csv", "--workspace", ref, "--items", items_a, "--images-root", images_root])
        counts_a, _ = h.info(ref)
        t_import = h.timed(["import", "csv", "--workspace", ref, "--items", items_all, "--outfits", outfits, "--images-root", images_root])
        counts_all, _ = h.info(ref)
        t_train = h.timed(["train", "--workspace", ref] + train_args)
        t_embed = h.timed(["embed", "--workspace", ref, "--threads", "2"])
        with open(items_all, newline="") as f:
            photo = next(csv.DictReader(f))["image"]
        t_recommend = h.timed(["recommend", photo, "--workspace", ref, "--json"])
        ref_model = sha(os.path.join(ref, "models", "style.model"))
        ref_embeddings = sha(os.path.join(ref, "embeddings", "style-flat.bin"))
        ref_top = [(s["source_id"], round(s["score"], 5)) for s in json.loads(
            h.run(["recommend", photo, "--workspace", ref, "--json"]).stdout)["similar"]]
        print(f"reference: import {t_import_a:.2f}+{t_import:.2f} s, train {t_train:.1f} s, embed {t_embed:.1f} s, "
              f"recommend (index build) {t_recommend:.2f} s; counts {counts_a} then {counts_all}", flush=True)

        per_phase = max(1, -(-a.kills // 4))  # ceil: at least `kills` in all

        # 1. import: kill the second import; counts must be exactly before (first half) or after.
        k = 0
        while h.phases.get("import", {}).get("killed", 0) < per_phase and k < 3 * per_phase:
            k += 1
            ws = os.path.join(root, f"import-{k}")
            h.run(["import", "csv", "--workspace", ws, "--items", items_a, "--images-root", images_root])
            killed = h.run_killed(["import", "csv", "--workspace", ws, "--items", items_all, "--outfits", outfits, "--images-root", images_root],
                                  h.rng.uniform(0.0, t_import * 1.1))
            h.note("import", killed)
            counts, err = h.info(ws)
            if counts is None:
                h.fail("import", f"round {k}: the workspace does not open: {err}")
            elif counts not in (counts_a, counts_all):
                h.fail("import", f"round {k}: counts {counts}, neither before {counts_a} nor after {counts_all}")
            h.run(["import", "csv", "--workspace", ws, "--items", items_all, "--outfits", outfits, "--images-root", images_root])
            if h.info(ws)[0] != counts_all:
                h.fail("import", f"round {k}: importing again does not give {counts_all}")
            h.count_temps(ws)
            shutil.rmtree(ws)

        # 2. train: kill, resume, kill again... the final model equals the reference's.
        base = os.path.join(root, "imported")
        h.run(["import", "csv", "--workspace", base, "--items", items_all, "--outfits", outfits, "--images-root", images_root])
        rounds = 0
        while rounds < per_phase:
            ws = os.path.join(root, f"train-{rounds}")
            shutil.copytree(base, ws)
            for attempt in range(4):
                has_checkpoint = os.path.exists(os.path.join(ws, "models", "style.checkpoint"))
                args = ["train", "--workspace", ws] + train_args + (["--resume"] if has_checkpoint else [])
                killed = h.run_killed(args, h.rng.uniform(0.2, t_train))
                h.note("train", killed)
                if h.info(ws)[0] != counts_all:
                    h.fail("train", f"round {rounds}: catalog changed or does not open")
                if killed:
                    rounds += 1
                if not killed or rounds >= per_phase:
                    break
            has_checkpoint = os.path.exists(os.path.join(ws, "models", "style.checkpoint"))
            h.run(["train", "--workspace", ws] + train_args + (["--resume"] if has_checkpoint else []))
            model = sha(os.path.join(ws, "models", "style.model"))
            if model != ref_model:
                h.fail("train", f"round {rounds}: the resumed model differs from the unkilled run's")
            h.count_temps(ws)
            shutil.rmtree(ws)

        # 3. embed and 4. index saving, on a trained workspace.
        trained = os.path.join(root, "trained")
        shutil.copytree(base, trained)
        h.run(["train", "--workspace", trained] + train_args)
        embedded = os.path.join(root, "embedded")  # trained and embedded, no index yet
        shutil.copytree(trained, embedded)
        h.run(["embed", "--workspace", embedded, "--threads", "2"])
        shutil.rmtree(os.path.join(embedded, "index"), ignore_errors=True)
        for phase, args, t in (("embed", ["embed", "--threads", "2"], t_embed),
                               ("index", ["recommend", photo, "--json"], t_recommend)):
            k = 0
            while h.phases.get(phase, {}).get("killed", 0) < per_phase and k < 6 * per_phase:
                k += 1
                ws = os.path.join(root, f"{phase}-{k}")
                shutil.copytree(embedded if phase == "index" else trained, ws)
                killed = h.run_killed([args[0], "--workspace", ws] + args[1:], h.rng.uniform(0.0, t))
                h.note(phase, killed)
                if h.info(ws)[0] != counts_all:
                    h.fail(phase, f"round {k}: catalog changed or does not open")
                emb = os.path.join(ws, "embeddings", "style-flat.bin")
                if os.path.exists(emb) and phase == "embed":
                    # Old (absent) or new (whole): a file that is there must load and be the reference's
                    # or a prefix run's that `embed` completes to the reference.
                    p = h.run(["export-embeddings", "--workspace", ws, "--out", os.path.join(ws, "e.csv")], check=False)
                    if p.returncode != 0 and "embed" not in p.stderr:
                        h.fail(phase, f"round {k}: embeddings file unreadable without naming `embed`: {p.stderr[-300:]}")
                h.run(["embed", "--workspace", ws, "--threads", "2"])
                if sha(emb) != ref_embeddings:
                    h.fail(phase, f"round {k}: embeddings after recovery differ from the reference")
                top = [(s["source_id"], round(s["score"], 5)) for s in json.loads(
                    h.run(["recommend", photo, "--workspace", ws, "--json"]).stdout)["similar"]]
                if top != ref_top:
                    h.fail(phase, f"round {k}: top-10 after recovery {top} != reference {ref_top}")
                h.count_temps(ws)
                shutil.rmtree(ws)

        # 5. A full disk: each writer fails with one clear line naming a file of the workspace, and
        # every file that was there before is unchanged, no temporary left.
        full = {}
        for phase, args, limit in (("import", ["import", "csv", "--items", items_all, "--outfits", outfits, "--images-root", images_root], 64 << 10),
                                   ("train", ["train"] + train_args, 256 << 10),
                                   ("embed", ["embed", "--threads", "2"], 64 << 10),
                                   ("index", ["recommend", photo, "--json"], 64 << 10)):
            ws = os.path.join(root, f"full-{phase}")
            if phase == "import":
                h.run(["import", "csv", "--workspace", ws, "--items", items_a, "--images-root", images_root])  # the catalog before
            else:
                shutil.copytree(embedded if phase == "index" else trained, ws)
            before = {}
            for dirpath, _, files in os.walk(ws):
                for f in files:
                    before[os.path.join(dirpath, f)] = sha(os.path.join(dirpath, f))
            counts_before = h.info(ws)[0]
            p = h.run_full_disk(args + ["--workspace", ws], limit)
            lines = [l for l in p.stderr.splitlines() if l.startswith("mystyle:")]
            ok = p.returncode == 1 and len(lines) == 1 and ws in lines[0]
            if not ok:
                h.fail("disk full", f"{phase}: exit {p.returncode}, stderr tail {p.stderr.strip()[-400:]!r}")
            changed = [f for f, digest in before.items() if not os.path.exists(f) or sha(f) != digest]
            if phase == "import":
                changed = [f for f in changed if not f.endswith("catalog.db")]  # compared by counts below
                if h.info(ws)[0] != counts_before:
                    h.fail("disk full", f"import: counts {h.info(ws)[0]} after the failed import, {counts_before} before")
            if changed:
                h.fail("disk full", f"{phase}: files changed by the failed run: {changed}")
            temps = [f for dirpath, _, files in os.walk(ws) for f in files if ".tmp-" in f]
            if temps:
                h.fail("disk full", f"{phase}: temporaries left: {temps}")
            full[phase] = lines[0] if lines else p.stderr.strip()[-200:]
            print(f"disk full, {phase}: {full[phase]}", flush=True)
            shutil.rmtree(ws)

        summary = {
            "kills": h.kills,
            "disk_full_errors": full,
            "runs": h.phases,
            "inconsistent": len(h.failures),
            "temp_files_left_by_killed_writers": h.temps,
            "failures": h.failures,
            "seed": a.seed,
            "seconds": round(time.monotonic() - started, 1),
        }
        print(json.dumps(summary, indent=2))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(summary, f, indent=2)
        if h.kills < a.kills:
            print(f"only {h.kills} of {a.kills} runs were killed before finishing (they ended first)")
        return 1 if h.failures else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
