"""Searches and offline grades from many threads at once share one embedding model, one
retriever and one grader (as the thread pool runs them under load): every result equals the
one computed alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.tutoring.grading import Grade, OfflineGrader, split_sentences
from eval.grading import load_items
from knowledge.store import Store
from retriever.decision import SearchResult
from retriever.search import Retriever

THREADS = 8
CALLS = 40
QUERIES = (
    "kv cache",
    "What is the KV cache and why does it speed up decoding?",
    "知识蒸馏",
    "量化的基本原理是什么？对称量化和非对称量化有什么区别？",
    "LoRA 是怎么减少训练参数的 and why does rank matter",
    "how does retrieval-augmented generation reduce hallucination in practice, and how would "
    "you evaluate the retriever separately from the generator?",
    "注意力",
    "my puppy will not eat its food",
)


@pytest.fixture(scope="module")
def store(built_home):
    s = Store(built_home)
    yield s
    s.close()


def open_retriever(store: Store, home, embedder) -> Retriever:
    retriever = Retriever(store, home / "index", embedder)
    retriever.open()
    return retriever


def workload(store: Store) -> list[tuple[str, object, str]]:
    """Searches and grades of mixed lengths, in Chinese and English."""
    by_key = {(e.source, e.title): e for e in store.entries()}
    items = load_items()
    chosen = [i for i in items if i["lang"] == "en"][:5] + [i for i in items if i["lang"] == "zh"][
        :5
    ]
    jobs: list[tuple[str, object, str]] = [("search", None, q) for q in QUERIES]
    for n, item in enumerate(chosen):
        entry = by_key[(item["source"], item["title"])]
        # One to three sentences: a batch of a few short texts per grade keeps the test fast.
        answer = item[("good", "partial", "wrong")[n % 3]]
        jobs.append(("grade", entry, " ".join(split_sentences(answer)[: n % 3 + 1])))
        jobs.append(("search", None, item["partial"][:120]))
    return jobs


def run(job: tuple[str, object, str], retriever: Retriever, grader: OfflineGrader):
    kind, entry, text = job
    if kind == "search":
        return retriever.search(text, 5)
    return grader.grade(entry, text)  # type: ignore[arg-type]


def same(got: SearchResult | Grade, want: SearchResult | Grade) -> bool:
    if isinstance(want, Grade):
        return got == want
    assert isinstance(got, SearchResult)
    return (
        got.grounded == want.grounded
        and [h.id for h in got.hits] == [h.id for h in want.hits]
        and all(
            g.score == pytest.approx(w.score, abs=1e-4)
            for g, w in zip(got.hits, want.hits, strict=True)
        )
        and got.signals.blindness == pytest.approx(want.signals.blindness, abs=1e-6)
        and got.signals.dense_top == pytest.approx(want.signals.dense_top, abs=1e-4)
    )


@pytest.mark.slow  # 320 searches and grades: a stress check, run once by CI after `make test`
def test_concurrent_searches_and_grades_equal_single_threaded(store, built_home, embedder):
    jobs = workload(store)
    alone = open_retriever(store, built_home, embedder)
    expected = [run(job, alone, OfflineGrader(alone)) for job in jobs]
    alone.close()

    # A fresh retriever, so its lazily prepared parts are first used from many threads too.
    shared = open_retriever(store, built_home, embedder)
    grader = OfflineGrader(shared)
    start = threading.Barrier(THREADS)

    def worker(n: int) -> list[tuple[int, object]]:
        start.wait()
        out: list[tuple[int, object]] = []
        for call in range(CALLS):
            i = (n * 7 + call) % len(jobs)
            try:
                out.append((i, run(jobs[i], shared, grader)))
            except Exception as exc:  # every failure is counted, not just the first
                out.append((i, exc))
        return out

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = [r for rs in pool.map(worker, range(THREADS)) for r in rs]
    finally:
        shared.close()

    assert len(results) == THREADS * CALLS
    errors = [f"{jobs[i][0]}: {r!r}" for i, r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} of {len(results)} calls failed: {errors[:3]}"
    wrong = [jobs[i][2][:40] for i, r in results if not same(r, expected[i])]
    assert not wrong, f"{len(wrong)} of {len(results)} results differ: {wrong[:3]}"
