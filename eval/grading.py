"""Grader evaluation: how often the offline grader orders a good, a partial and a wrong answer to
the same question correctly (pairwise: good > partial, good > wrong, partial > wrong).

    python eval/grading.py            # figures as JSON
    python eval/grading.py --items    # also one JSON line per question with the three scores

The set (`eval/grading_set.jsonl`) holds 30 questions of the starter bank, 15 English and 15
Chinese, each with three answers written for this evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.tutoring.grading import OfflineGrader  # noqa: E402
from knowledge.ingest import STARTER_DIR, ingest  # noqa: E402
from knowledge.store import Store  # noqa: E402
from retriever.embed import DEFAULT_MODEL, Embedder  # noqa: E402
from retriever.search import Retriever  # noqa: E402

SET = Path(__file__).with_name("grading_set.jsonl")
PAIRS = (("good", "partial"), ("good", "wrong"), ("partial", "wrong"))


def load_items() -> list[dict]:
    """The graded set, one dict per question."""
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line]


def evaluate(grader: OfflineGrader, store: Store, items: list[dict]) -> tuple[dict, list[dict]]:
    """Pairwise ordering accuracy overall and per language, and each item's scores."""
    by_key = {(e.source, e.title): e for e in store.entries()}
    rows, right, total = [], {"en": 0, "zh": 0}, {"en": 0, "zh": 0}
    started = time.perf_counter()
    for item in items:
        entry = by_key[(item["source"], item["title"])]
        scores = {
            kind: grader.grade(entry, item[kind]).score for kind in ("good", "partial", "wrong")
        }
        ordered = [scores[a] > scores[b] for a, b in PAIRS]
        right[item["lang"]] += sum(ordered)
        total[item["lang"]] += len(ordered)
        rows.append({"title": item["title"], "lang": item["lang"], **scores, "ordered": ordered})
    elapsed = time.perf_counter() - started
    figures = {
        "questions": len(items),
        "pairs": sum(total.values()),
        "pairwise_accuracy": round(sum(right.values()) / max(1, sum(total.values())), 4),
        "pairwise_accuracy_en": round(right["en"] / max(1, total["en"]), 4),
        "pairwise_accuracy_zh": round(right["zh"] / max(1, total["zh"]), 4),
        "mean_score": {
            kind: round(sum(r[kind] for r in rows) / len(rows), 1)
            for kind in ("good", "partial", "wrong")
        },
        "ms_per_grade": round(1000 * elapsed / (3 * len(items)), 1),
    }
    return figures, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model")
    parser.add_argument("--items", action="store_true", help="print each question's scores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        store = Store(data)
        ingest(store, [STARTER_DIR], max_bytes=10**7)
        retriever = Retriever(store, data / "index", Embedder(args.model))
        retriever.sync()
        figures, rows = evaluate(OfflineGrader(retriever), store, load_items())
        retriever.close()
        store.close()
    if args.items:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    print(json.dumps({"model": args.model, **figures}, ensure_ascii=False))


if __name__ == "__main__":
    main()
