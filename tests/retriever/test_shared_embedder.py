"""One embedding model used from many threads at once (the thread pool under load): vectors and
blindness equal the ones computed alone, and no call fails."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

THREADS = 8
CALLS = 100
# Batches whose texts differ in length, so each needs padding; alone texts need none.
BATCHES = (
    ["kv cache", "What is the KV cache and why does it make decoding faster?"],
    ["知识蒸馏", "量化的基本原理是什么？对称量化和非对称量化有什么区别？", "LoRA rank"],
    [
        "attention",
        "Scaled dot-product attention divides the logits by the square root of the key size.",
        "梯度累积 lets a small GPU train with a large effective batch size",
    ],
)
TEXTS = (
    "kv cache",
    "梯度检查点",
    "how does retrieval-augmented generation reduce hallucination in practice?",
    "我的小狗不吃饭",
)


def hammer(embedder) -> list[str]:
    """Encode batches and measure blindness from many threads started together; what differs
    from the single-threaded result, or fails."""
    jobs = [("encode", b) for b in BATCHES] + [("blindness", t) for t in TEXTS]

    def run(job):
        kind, arg = job
        return embedder.encode(arg) if kind == "encode" else embedder.blindness(arg)

    expected = [run(job) for job in jobs]
    start = threading.Barrier(THREADS)

    def worker(n: int) -> list[str]:
        start.wait()
        problems = []
        for call in range(CALLS):
            i = (n + call) % len(jobs)
            try:
                got = run(jobs[i])
            except Exception as exc:  # every failure is counted, not just the first
                problems.append(f"{jobs[i][0]}: {exc!r}"[:200])
                continue
            if not np.allclose(got, expected[i], atol=1e-5):
                problems.append(f"{jobs[i][0]} of {jobs[i][1]!r} differs")
        return problems

    with ThreadPoolExecutor(THREADS) as pool:
        return [p for ps in pool.map(worker, range(THREADS)) for p in ps]


@pytest.mark.slow  # 800 encodes: a stress check, run once by CI after `make test`
def test_concurrent_encodes_and_blindness_equal_single_threaded(embedder):
    problems = hammer(embedder)
    assert not problems, f"{len(problems)} of {THREADS * CALLS} calls went wrong: {problems[:3]}"
