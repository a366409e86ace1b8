"""What the bank is missing, measured: a scripted run through the product's own parts (the answer
engine's coverage decision, the gap book, `Gaps`) over the starter bank.

Many learners ask a mix of questions: covered ones, far off-topic ones (cooking, sport, tax) and
questions about techniques the bank does not cover, in both languages, each technique by its own
number of distinct askers. The figures: whether the top gaps are exactly those techniques, with
their askers counted right; whether any far off-topic question leaks into a gap; and, after an
entry for the first technique is added to the bank, whether its gap is gone.

    python eval/gaps.py --part dev [--threshold 0.2]
    python eval/gaps.py --part dev2            # the first version's test part, tuning data now
    python eval/gaps.py --part dev3            # the second version's test part, tuning data now
    python eval/gaps.py --part dev4            # the third version's test part, tuning data now
    python eval/gaps.py --part dev5            # the fourth version's test part, tuning data now
    python eval/gaps.py --part dev6            # the fifth version's test part, tuning data now
    python eval/gaps.py --part dev7            # the sixth version's test part, tuning data now
    python eval/gaps.py --part dev8            # the seventh version's test part, tuning data now
    python eval/gaps.py --part dev9            # the eighth version's test part, tuning data now
    python eval/gaps.py --part dev10           # the ninth version's test part, tuning data now
    python eval/gaps.py --part dev11           # written to be frozen, seen while tuning
    python eval/gaps.py --part dev12           # the ninth version's second test part
    python eval/gaps.py --part dev13           # the tenth version's test part
    python eval/gaps.py --part test            # the frozen part: once per version
    python eval/gaps.py --part dev --draft-model PATH.gguf --draft-out DIR   # a drafted entry

With --draft-model, the top gap is drafted by that model (as /gaps draft 1 does) and the file is
ingested unchanged into a copy of the bank: the figures say whether the model wrote it and how
many entries and key points the bank read from it.

Parts: dev = eval/coverage_dev.jsonl (its gap questions, two per technique, and off-topic ones);
dev2 = eval/coverage_gaps_test.jsonl's gap questions with eval/coverage_test.jsonl's off-topic and
covered ones (the first version's frozen part, read since); dev3 = eval/gaps_test.jsonl (the
second version's frozen part, read since); dev4 = eval/gaps_test3.jsonl (the third version's,
read since); dev5 = eval/gaps_test4.jsonl (the fourth version's, read since); dev6 =
eval/gaps_test5.jsonl (the fifth version's, read since); dev7 = eval/gaps_test6.jsonl (the
sixth version's, read since); dev8 = eval/gaps_test7.jsonl (the seventh version's, read since);
dev9 = eval/gaps_test8.jsonl (the eighth version's, read since); dev10 = eval/gaps_test9.jsonl
(the ninth version's, read since); dev11 = eval/gaps_test10.jsonl (written to be frozen, seen
while tuning before any version was measured on it); dev12 = eval/gaps_test11.jsonl (the ninth
version's second frozen part, measured once); dev13 = eval/gaps_test12.jsonl (the tenth
version's, measured once); test = eval/gaps_test13.jsonl (frozen: techniques by topic in both
languages, far questions); dev3 to dev13 and test with coverage_test.jsonl's covered ones.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.conversation import Incoming, Place
from bot.core.gaps import Gaps
from bot.tutoring import gaps as rules
from bot.tutoring.answering import AnswerEngine
from eval.starter import starter_bank
from knowledge.gaps import GapBook

EVAL = Path(__file__).parent
# part: (the techniques' file, the far and covered questions' file)
PARTS = {
    "dev": (EVAL / "coverage_dev.jsonl", EVAL / "coverage_dev.jsonl"),
    # The first version's frozen part, read since: tuning data now (eval/FROZEN.md).
    "dev2": (EVAL / "coverage_gaps_test.jsonl", EVAL / "coverage_test.jsonl"),
    # The second version's frozen part, measured and read: tuning data now.
    "dev3": (EVAL / "gaps_test.jsonl", EVAL / "gaps_test.jsonl"),
    # The third version's frozen part, measured and read: tuning data now.
    "dev4": (EVAL / "gaps_test3.jsonl", EVAL / "gaps_test3.jsonl"),
    # The fourth version's frozen part, measured and read: tuning data now.
    "dev5": (EVAL / "gaps_test4.jsonl", EVAL / "gaps_test4.jsonl"),
    # The fifth version's frozen part, measured and read: tuning data now.
    "dev6": (EVAL / "gaps_test5.jsonl", EVAL / "gaps_test5.jsonl"),
    # The sixth version's frozen part, measured and read: tuning data now.
    "dev7": (EVAL / "gaps_test6.jsonl", EVAL / "gaps_test6.jsonl"),
    # The seventh version's frozen part, measured and read: tuning data now.
    "dev8": (EVAL / "gaps_test7.jsonl", EVAL / "gaps_test7.jsonl"),
    # The eighth version's frozen part, measured and read: tuning data now.
    "dev9": (EVAL / "gaps_test8.jsonl", EVAL / "gaps_test8.jsonl"),
    # The ninth version's frozen part, measured and read: tuning data now.
    "dev10": (EVAL / "gaps_test9.jsonl", EVAL / "gaps_test9.jsonl"),
    # Written as the tenth version's frozen part, but seen while tuning before any version was
    # measured on it (eval/FROZEN.md): tuning data.
    "dev11": (EVAL / "gaps_test10.jsonl", EVAL / "gaps_test10.jsonl"),
    # The ninth version's second frozen part, measured once, not read: tuning data all the same.
    "dev12": (EVAL / "gaps_test11.jsonl", EVAL / "gaps_test11.jsonl"),
    # The tenth version's frozen part, measured once, not read yet.
    "dev13": (EVAL / "gaps_test12.jsonl", EVAL / "gaps_test12.jsonl"),
    "test": (EVAL / "gaps_test13.jsonl", EVAL / "gaps_test13.jsonl"),
}
COVERED = EVAL / "coverage_test.jsonl"  # covered questions asked beside the test part's


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def script(part: str) -> tuple[dict[int, list[str]], list[str], list[str]]:
    """Techniques (their questions, in both languages: consecutive pairs of the gap rows), far
    off-topic questions and covered ones."""
    gap_file, other_file = PARTS[part]
    gap_rows = [r for r in rows(gap_file) if r["expect"] == "gap"]
    # A technique: rows with one `topic`, or (the dev part has none) consecutive pairs.
    topics = [r.get("topic") or str(i // 2) for i, r in enumerate(gap_rows)]
    order = list(dict.fromkeys(topics))
    techniques: dict[int, list[str]] = {t: [] for t in range(len(order))}
    for topic, row in zip(topics, gap_rows, strict=True):
        techniques[order.index(topic)].append(row["query"])
    others = rows(other_file)
    far = [r["query"] for r in others if r["expect"] == "off-topic"]
    covered_from = others if part in ("dev", "dev2") else rows(COVERED)
    covered = [r["query"] for r in covered_from if r["expect"] == "covered"][:12]
    return techniques, far, covered


def _figures(
    found: list, techniques: dict, askers: dict, uncovered: dict, by_question: dict, far: set
) -> dict:
    """Whether the top gaps are the techniques, with their askers counted right: all who
    asked, and those whose question the answer engine did not cover (a learner answered from
    an entry has no gap to count)."""
    top = found[: len(techniques)]
    # Each top gap's technique: the one most of its questions ask about.
    matched: dict[int, int] = {}
    pure = 0
    for g in top:
        votes: dict[int, int] = defaultdict(int)
        for a in g.asked:
            if a.question in by_question:
                votes[by_question[a.question]] += 1
        if votes:
            t = max(votes, key=lambda k: votes[k])
            pure += votes[t] == len(g.asked)
            if t not in matched:
                matched[t] = g.askers
    return {
        "gaps_found": len(found),
        "techniques_found_in_top": len(matched),
        "askers_counted_right": sum(matched.get(t) == askers[t] for t in techniques),
        "askers_counted_right_of_uncovered": sum(
            matched.get(t) == uncovered[t] for t in techniques
        ),
        "techniques_covered_for_some": sum(uncovered[t] < askers[t] for t in techniques),
        "pure_top_gaps": pure,
        "far_questions_in_gaps": sum(a.question in far for g in found for a in g.asked),
        "top": [{"label": g.label, "askers": g.askers, "asked": len(g.asked)} for g in top],
    }


def draft_top(gaps: Gaps, gap: rules.Gap, model: str, out: Path | None) -> dict:
    """Draft `gap` with a real model as /gaps draft does, then ingest the file unchanged into a
    fresh copy of the starter bank."""
    import time

    from bot.llm.hf import TransformersBackend
    from knowledge.ingest import ingest

    backend = TransformersBackend(model)
    backend.load()
    gaps.backend = lambda: backend
    gaps.draft_timeout = 3600.0
    near = [e for e in (gaps.store.entry(c.id) for c in gap.closest()) if e is not None]
    start = time.monotonic()
    lang = gap.language or "en"
    text = asyncio.run(gaps._model_draft(gap, near, lang))
    seconds = time.monotonic() - start
    backend.close()
    draft = rules.draft_entry(gap, near, lang, text)
    folder = out or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / draft.file_name
    path.write_text(draft.markdown, "utf-8")
    (folder / "model_text.txt").write_text(text, "utf-8")
    with starter_bank() as (store, _):
        summary = ingest(store, [path], max_bytes=10**6)
        read = [e for e in store.entries() if e.source == path.name]
    return {
        "file": str(path),
        "by_model": draft.by_model,
        "seconds": round(seconds, 1),
        "ingested": str(summary),
        "entries": len(read),
        "key_points": [len(e.key_points) for e in read],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS), default="dev")
    parser.add_argument("--threshold", type=float, default=rules.SAME_GAP)
    parser.add_argument(
        "--field-bar", type=float, help="tune: the field bar (retriever/calibration.json's)"
    )
    parser.add_argument(
        "--grid", action="store_true", help="tune: a grid of thresholds (dev parts)"
    )
    parser.add_argument("--draft-model", help="a model (folder or .gguf) to draft the top gap")
    parser.add_argument("--draft-out", type=Path, help="where the drafted file is written")
    args = parser.parse_args()
    techniques, far, covered = script(args.part)
    # Technique t is asked by 2 + (t mod 4) distinct learners, alternating its languages.
    askers = {t: 2 + t % 4 for t in techniques}
    home = Path(tempfile.mkdtemp())
    with starter_bank() as (store, retriever):
        engine = AnswerEngine(retriever, None)
        if args.field_bar is not None:
            retriever.field_bar = args.field_bar
        gaps = Gaps(GapBook(home), retriever, store)
        gaps.threshold = args.threshold
        decided = {}

        def ask(user: str, question: str) -> None:
            if question not in decided:
                decided[question] = asyncio.run(engine.answer(question))
            message = Incoming(user, Place("eval", "W1", "C1"), question)
            gaps.note_answer(message, question, decided[question])

        for t, questions in techniques.items():
            for n in range(askers[t]):
                ask(f"t{t}-{n}", questions[n % len(questions)])
        for n, question in enumerate(far):
            ask(f"far{n}", question)
            ask(f"far{n}b", question)
        for n, question in enumerate(covered):
            ask(f"cov{n}", question)
        by_question = {q: t for t, qs in techniques.items() for q in qs}
        uncovered = {
            t: sum(decided[qs[n % len(qs)]].coverage != "covered" for n in range(askers[t]))
            for t, qs in techniques.items()
        }
        if args.grid:  # tuning (dev parts only): the same recorded questions, regrouped
            grid = []
            for threshold in (0.1, 0.15, 0.2, 0.25, 0.3):
                gaps.threshold = threshold
                figures = _figures(
                    gaps.gaps("W1"), techniques, askers, uncovered, by_question, set(far)
                )
                grid.append({"threshold": threshold, **figures})
            print(json.dumps({"part": args.part, "grid": grid}))
            return
        found = gaps.gaps("W1")
        figures = _figures(found, techniques, askers, uncovered, by_question, set(far))
        far_recorded = len(
            gaps.book.questions("W1", datetime(2000, 1, 1, tzinfo=UTC), in_field=False)
        )
        drafted = (
            draft_top(gaps, found[0], args.draft_model, args.draft_out)
            if args.draft_model
            else None
        )
        # Fill the first technique: a new entry answering its questions.
        first = techniques[0]
        doc = home / "bank" / "new_entry.md"
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(
            "# New\n\n## Interview questions\n\n### 1. Filled\n\n"
            f"**Question:** {first[0]}\n\n**Answer:** An answer written for this gap.\n\n"
            "- **Point:** The first key point of the new entry.\n",
            "utf-8",
        )
        from knowledge.ingest import ingest

        ingest(store, [doc], max_bytes=10**6)
        retriever.sync()
        after = gaps.gaps("W1")
        still = [g for g in after if any(by_question.get(a.question) == 0 for a in g.asked)]
    out = {
        "part": args.part,
        "threshold": args.threshold,
        "techniques": len(techniques),
        **{k: v for k, v in figures.items() if k != "top"},
        "far_questions_recorded_apart": far_recorded,
        "filled_gap_gone": not still,
        "draft": drafted,
        "top": figures["top"],
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
