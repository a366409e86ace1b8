"""Grader evaluation: two figures on a good, a partial and a wrong answer to each question.

- **pairwise order**: how often a pair is ordered right (good > partial, good > wrong,
  partial > wrong);
- **rating agreement**: the share of answers whose score falls in its band (good >= 60,
  partial < 60, wrong < 40), i.e. the FSRS rating a learner would get is the right one;
- and the two costly errors: wrong answers suggested Good or Easy (score >= 60), good answers
  suggested Again (score < 40).

    python eval/grading.py                 # the dev part, figures as JSON
    python eval/grading.py --part test     # the frozen test part (report only, never tune)
    python eval/grading.py --part legacy   # the old, in-sample set (eval/grading_set.jsonl)
    python eval/grading.py --items         # also one JSON line per question with its scores

Each figure is given overall, per language, per kind (concept / coding) and for answers in the
other language than the question. Two routes are reported: `product`, graded the way the product
grades (a coding entry with tests: the answer's code runs against them in the sandbox, when
`TUTOR_RUNNER_PYTHON` or the default sandbox interpreter is there; otherwise those items are
counted as skipped), and `offline`, every item through the offline grader (for a coding entry,
the route of a problem without tests).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.tutoring.code_rubric import rubric_entry, untested_score  # noqa: E402
from bot.tutoring.code_tests import (  # noqa: E402
    expected_tests,
    extract_code,
    new_marker,
    program,
    read_verdict,
)
from bot.tutoring.grading import OfflineGrader  # noqa: E402
from bot.tutoring.spacing import AGAIN_BELOW, HARD_BELOW  # noqa: E402
from eval.starter import share, starter_bank  # noqa: E402
from knowledge.entry import Entry  # noqa: E402
from knowledge.store import Store  # noqa: E402
from retriever.embed import DEFAULT_MODEL  # noqa: E402

PARTS = {
    "dev": Path(__file__).with_name("grading_dev.jsonl"),
    "test": Path(__file__).with_name("grading_test.jsonl"),
    "legacy": Path(__file__).with_name("grading_set.jsonl"),
}
ANSWERS = ("good", "partial", "wrong")
PAIRS = (("good", "partial"), ("good", "wrong"), ("partial", "wrong"))
BANDS: dict[str, Callable[[int], bool]] = {
    "good": lambda s: s >= 60,
    "partial": lambda s: s < 60,
    "wrong": lambda s: s < 40,
}

Score = Callable[[Entry, str], "int | None"]


def load_items(part: str = "legacy") -> list[dict]:
    """One part of the graded set, one dict per question."""
    text = PARTS[part].read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _groups(item: dict) -> list[str]:
    kind = item.get("kind", "concept")
    differs = "answer_lang_differs" if item.get("answer_lang") else "answer_lang_same"
    return ["overall", item["lang"], kind, differs]


def figures(rows: list[dict]) -> dict:
    """Pairwise order and rating agreement, overall and per group, over scored rows."""
    pair_hits: dict[str, list[int]] = {}
    band_hits: dict[str, list[int]] = {}
    by_answer = {kind: [0, 0] for kind in ANSWERS}
    for row in rows:
        for group in row["groups"]:
            pair = pair_hits.setdefault(group, [0, 0])
            pair[0] += sum(row["ordered"])
            pair[1] += len(row["ordered"])
            band = band_hits.setdefault(group, [0, 0])
            band[0] += sum(row["in_band"].values())
            band[1] += len(ANSWERS)
        for kind in ANSWERS:
            by_answer[kind][0] += row["in_band"][kind]
            by_answer[kind][1] += 1
    return {
        "questions": len(rows),
        "pairwise_order": {g: share(*v) for g, v in pair_hits.items()},
        "rating_agreement": {g: share(*v) for g, v in band_hits.items()},
        "rating_agreement_by_answer": {k: share(*v) for k, v in by_answer.items()},
        # The two costly mistakes: a wrong answer suggested Good or Easy (the card goes away
        # for days), and a good answer suggested Again (the learner is told they failed).
        "wrong_as_good_or_easy": share(sum(r["wrong"] >= HARD_BELOW for r in rows), len(rows)),
        "good_as_again": share(sum(r["good"] < AGAIN_BELOW for r in rows), len(rows)),
        "mean_score": {
            kind: round(sum(r[kind] for r in rows) / len(rows), 1) if rows else None
            for kind in ANSWERS
        },
    }


def score_items(items: list[dict], store: Store, score: Score) -> tuple[list[dict], int]:
    """Each item's three scores (items `score` cannot grade are skipped), and the skip count."""
    by_key = {(e.source, e.title): e for e in store.entries()}
    rows, skipped = [], 0
    for item in items:
        entry = by_key[(item["source"], item["title"])]
        scores = {kind: score(entry, item[kind]) for kind in ANSWERS}
        if any(s is None for s in scores.values()):
            skipped += 1
            continue
        rows.append(
            {
                "title": item["title"],
                "lang": item["lang"],
                "kind": item.get("kind", "concept"),
                "answer_lang": item.get("answer_lang", item["lang"]),
                **scores,
                "ordered": [scores[a] > scores[b] for a, b in PAIRS],
                "in_band": {kind: BANDS[kind](scores[kind]) for kind in ANSWERS},
                "groups": _groups(item),
            }
        )
    return rows, skipped


def offline_score(grader: OfflineGrader, entry: Entry, answer: str) -> int:
    """The offline grade; a coding answer as `/quiz` grades one without tests and without a
    sandbox (its code against the rubric: explanation and reference solution)."""
    if entry.kind == "coding":
        code = extract_code(answer) or answer
        return untested_score(grader.grade(rubric_entry(entry), code).score, None)
    return grader.grade(entry, answer).score


def evaluate(grader: OfflineGrader, store: Store, items: list[dict]) -> tuple[dict, list[dict]]:
    """Both figures with every item through the offline grader, and each item's scores."""
    started = time.perf_counter()
    rows, _ = score_items(items, store, lambda e, a: offline_score(grader, e, a))
    elapsed = time.perf_counter() - started
    result = figures(rows)
    result["pairwise_accuracy"] = result["pairwise_order"].get("overall")
    result["ms_per_grade"] = round(1000 * elapsed / (3 * max(1, len(items))), 1)
    return result, rows


def sandbox_scorer(python: str) -> tuple[Callable[[Entry, str], int], Callable[[], None]] | None:
    """Score a coding answer as `/quiz` does (share of the tests passed), or None without a
    sandbox."""
    from runner.sandbox import Sandbox

    sandbox = Sandbox(python=python, pool_size=1, label="tutor-eval")
    try:
        sandbox.check()
    except Exception:
        sandbox.close()
        return None

    def score(entry: Entry, answer: str) -> int:
        code = extract_code(answer)
        if not code.strip():
            return 0
        marker = new_marker()
        result = sandbox.run(program(code, entry.tests, marker), "python")
        return read_verdict(result, marker, expected_tests(entry.tests)).score

    return score, sandbox.close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=sorted(PARTS), default="dev", help="which set")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model")
    parser.add_argument("--items", action="store_true", help="print each question's scores")
    parser.add_argument("--no-sandbox", action="store_true", help="skip running coding answers")
    args = parser.parse_args()
    items = load_items(args.part)
    from runner.sandbox import DEFAULT_PYTHON

    python = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)
    with starter_bank(args.model) as (store, retriever):
        grader = OfflineGrader(retriever)
        offline, offline_rows = evaluate(grader, store, items)
        runner = None if args.no_sandbox else sandbox_scorer(python)

        def product(entry: Entry, answer: str) -> int | None:
            if entry.kind == "coding" and entry.tests.strip():
                return runner[0](entry, answer) if runner else None
            return offline_score(grader, entry, answer)

        product_rows, skipped = score_items(items, store, product)
        if runner:
            runner[1]()
    if args.items:
        for row in offline_rows:
            print(json.dumps({"route": "offline", **row}, ensure_ascii=False))
        for row in product_rows:
            if row["kind"] == "coding":
                print(json.dumps({"route": "product", **row}, ensure_ascii=False))
    report = {
        "part": args.part,
        "model": args.model,
        "sandbox": runner is not None,
        "product": {**figures(product_rows), "coding_skipped": skipped},
        "offline": offline,
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
