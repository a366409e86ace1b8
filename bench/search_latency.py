"""End-to-end query latency of `Retriever.search` (embed + FAISS + lexical + fusion + grounded).

    python bench/search_latency.py [--sizes 1000 100000] [--queries 200]

Banks of synthetic entries (questions stitched from the glossary's terms in both languages) are
written to a temporary data dir. Up to --embed-limit entries are embedded with the real model;
past that, entry vectors are random unit vectors (query latency does not depend on what they
hold) and the query is still embedded for real. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.entry import Entry
from knowledge.store import DocumentRecord, Store
from retriever.embed import Embedder, open_embedder
from retriever.glossary import Glossary
from retriever.search import Retriever

QUERIES = [
    "how does the kv cache grow with context length",
    "what is knowledge distillation and why use a temperature",
    "bf16 or fp16 for mixed precision training",
    "how to evaluate a retrieval augmented generation system",
    "什么是知识蒸馏",
    "学习率预热有什么用",
    "模型量化 int8 和 int4 的区别",
    "怎么监控线上大模型服务",
    "continuous batching throughput versus latency",
    "差分隐私的基本思想",
]


def synthetic_entries(n: int, glossary: Glossary, seed: int) -> list[Entry]:
    rng = random.Random(seed)
    english = list(glossary.to_zh)
    chinese = list(glossary.to_en)
    entries = []
    for i in range(n):
        zh = i % 2 == 0
        terms = rng.sample(chinese if zh else english, 4)
        question = (
            f"{terms[0]}和{terms[1]}有什么关系？如何结合{terms[2]}与{terms[3]}？"
            if zh
            else f"How does {terms[0]} relate to {terms[1]}, and when would you use "
            f"{terms[2]} with {terms[3]}?"
        )
        entries.append(
            Entry(
                id=f"s{i:07d}",
                source="synthetic.md",
                question=question,
                kind="concept",
                language="zh" if zh else "en",
                title=terms[0],
                answer="",
                key_points=tuple(f"{t}: ..." for t in terms),
                position=i,
            )
        )
    return entries


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def bench_size(n: int, queries: int, embedder: Embedder, embed_limit: int, threshold: int) -> dict:
    glossary = Glossary.load()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data")
        entries = synthetic_entries(n, glossary, seed=n)
        with store.transaction():
            store.save_document(
                DocumentRecord("synthetic", "synthetic.md", "synthetic", "x", 1, "utf-8", n, "")
            )
            store.save_entries("synthetic", entries)
        retriever = Retriever(store, Path(tmp) / "index", embedder, ann_threshold=threshold)
        vectors = None
        if n > embed_limit:
            rng = np.random.default_rng(n)
            matrix = rng.normal(size=(n, embedder.dim)).astype(np.float32)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            vectors = {e.id: matrix[i] for i, e in enumerate(entries)}
        start = time.perf_counter()
        retriever.sync(vectors=vectors)
        index_s = time.perf_counter() - start
        assert retriever.dense is not None

        for q in QUERIES:  # warm up caches, jieba and the model
            retriever.search(q, 5)
        total, embed = [], []
        for i in range(queries):
            q = QUERIES[i % len(QUERIES)]
            t0 = time.perf_counter()
            retriever.search(q, 5)
            total.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.encode_queries([q])
            embed.append((time.perf_counter() - t0) * 1000)
        retriever.close()
        store.close()
        return {
            "entries": n,
            "dense_index": retriever.dense.kind,
            "entry_vectors": "random" if vectors else "embedded",
            "index_build_s": round(index_s, 2),
            "search_p50_ms": percentile(total, 50),
            "search_p95_ms": percentile(total, 95),
            "embed_only_p50_ms": percentile(embed, 50),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embed-limit", type=int, default=2000)
    parser.add_argument("--ann-threshold", type=int, default=20_000)
    parser.add_argument("--model", default="", help="embedding model (default: the bundled one)")
    args = parser.parse_args()
    embedder = open_embedder(args.model)
    results = [
        bench_size(n, args.queries, embedder, args.embed_limit, args.ann_threshold)
        for n in args.sizes
    ]
    print(
        json.dumps(
            {
                "model": embedder.name,
                "cpu_count": os.cpu_count(),
                "ann_threshold": args.ann_threshold,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
