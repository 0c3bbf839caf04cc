#!/usr/bin/python3
"""Peers for bench/index_bench: exact cosine top-k, one query at a time, one thread.

Reads float32 row-major files written by the bench (data [n, dim], queries [nq, dim]) and prints one
JSON line per peer: {"peer": ..., "p50_ms": ..., "p99_ms": ..., "top": [[ids of query 0], ...]}.
Run with /usr/bin/python3 (Debian python3-numpy, python3-faiss), OPENBLAS_* tuning unset, one thread.
"""
import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def percentiles(times):
    t = np.array(times) * 1e3
    return float(np.percentile(t, 50)), float(np.percentile(t, 99))


def run_numpy(xn, queries, k):
    times, tops = [], []
    for q in queries:
        t0 = time.perf_counter()
        qn = q / max(np.linalg.norm(q), 1e-30)
        s = xn @ qn
        part = np.argpartition(-s, k)[:k]
        top = part[np.argsort(-s[part], kind="stable")]
        times.append(time.perf_counter() - t0)
        tops.append(top.tolist())
    return times, tops


def run_faiss(xn, queries, k):
    import faiss
    faiss.omp_set_num_threads(1)
    index = faiss.IndexFlatIP(xn.shape[1])
    index.add(xn)
    times, tops = [], []
    for q in queries:
        t0 = time.perf_counter()
        qn = (q / max(np.linalg.norm(q), 1e-30)).reshape(1, -1).astype(np.float32)
        _, ids = index.search(qn, k)
        times.append(time.perf_counter() - t0)
        tops.append(ids[0].tolist())
    return times, tops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=1, help="passes over the queries (first one discarded)")
    args = ap.parse_args()
    x = np.fromfile(args.data, dtype=np.float32).reshape(-1, args.dim)
    queries = np.fromfile(args.queries, dtype=np.float32).reshape(-1, args.dim)
    # Stored normalised, as FAISS cosine users (and our ExactIndex's statistics) do: not timed.
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    xn = np.ascontiguousarray(xn, dtype=np.float32)
    for name, fn in (("numpy", run_numpy), ("faiss_flat_ip", run_faiss)):
        fn(xn, queries[: min(5, len(queries))], args.k)  # warm-up
        times, tops = fn(xn, queries, args.k)
        p50, p99 = percentiles(times)
        print(json.dumps({"peer": name, "p50_ms": p50, "p99_ms": p99, "top": tops}), flush=True)


if __name__ == "__main__":
    main()
