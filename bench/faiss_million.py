"""FAISS at scale: exact flat search against HNSW and IVF on synthetic 384-d vectors.

    python bench/faiss_million.py [--n 1000000] [--queries 200]

The vectors are a mixture of Gaussian clusters (as sentence embeddings are), unit length, so
inner product is cosine. Prints one JSON object: for each index, build time, search latency
p50/p95 for one query at a time (as a chat bot searches), and recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import faiss
import numpy as np


def synthetic(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        size = min(step, n - start)
        labels = rng.integers(0, clusters, size)
        noise = rng.normal(scale=0.6, size=(size, dim)).astype(np.float32)
        out[start : start + size] = centers[labels] + noise
    faiss.normalize_L2(out)
    return out


def timed_search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    ids = np.empty((len(queries), k), dtype=np.int64)
    latencies = []
    for i, q in enumerate(queries):
        start = time.perf_counter()
        _, found = index.search(q[None, :], k)
        latencies.append((time.perf_counter() - start) * 1000)
        ids[i] = found[0]
    return ids, latencies


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p95_ms": round(float(np.percentile(latencies, 95)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    data = synthetic(args.n, args.dim, clusters=2000, seed=1)
    # Fresh queries near the data: perturb stored vectors.
    rng = np.random.default_rng(2)
    picks = data[rng.integers(0, args.n, args.queries)]
    queries = picks + rng.normal(scale=0.05, size=picks.shape).astype(np.float32)
    faiss.normalize_L2(queries)

    report: dict[str, object] = {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "k": args.k,
        "threads": faiss.omp_get_max_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "faiss": faiss.__version__,
    }

    start = time.perf_counter()
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(data)
    build = time.perf_counter() - start
    truth, lat = timed_search(flat, queries, args.k)
    report["flat"] = {"build_s": round(build, 2), **summary(lat), "recall@10": 1.0}

    for m, ef_construction in ((32, 80),):
        start = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(args.dim, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        hnsw.add(data)
        build = time.perf_counter() - start
        rows = []
        for ef in (16, 32, 64, 128):
            hnsw.hnsw.efSearch = ef
            found, lat = timed_search(hnsw, queries, args.k)
            rows.append(
                {"efSearch": ef, **summary(lat), "recall@10": round(recall(found, truth), 4)}
            )
        report[f"hnsw_M{m}"] = {
            "build_s": round(build, 2),
            "efConstruction": ef_construction,
            "search": rows,
        }
        del hnsw

    nlist = 4096
    start = time.perf_counter()
    quantizer = faiss.IndexFlatIP(args.dim)
    ivf = faiss.IndexIVFFlat(quantizer, args.dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(data[rng.choice(args.n, min(args.n, 100_000), replace=False)])
    ivf.add(data)
    build = time.perf_counter() - start
    rows = []
    for nprobe in (8, 16, 32, 64):
        ivf.nprobe = nprobe
        found, lat = timed_search(ivf, queries, args.k)
        rows.append({"nprobe": nprobe, **summary(lat), "recall@10": round(recall(found, truth), 4)})
    report[f"ivf{nlist}_flat"] = {"build_s": round(build, 2), "search": rows}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
