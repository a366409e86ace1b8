"""eval/answers.py, the answer-quality instrument: what it counts, through the product's own
answer engine over the starter bank, with a scripted model in place of a real one."""

from __future__ import annotations

import asyncio
import json

from bot.tutoring.grading import OfflineGrader
from eval.answers import _substance, answer_all, body, figures, load, marks, scored
from eval.starter import read_jsonl, starter_bank
from tests.bot.conftest import Scripted


def test_marks_count_citations_and_those_naming_a_given_source():
    text = "Keys and values are kept [1], see also [abcdef12] and [7]."
    assert marks(text, ["abcdef12", "0123456789ab"]) == (3, 2)
    assert marks("no citation", ["abcdef12"]) == (0, 0)
    assert body("它缓存 K 和 V [1]。\n```python\nprint('x')\n```") == "它缓存 K 和 V 。\n"


def test_each_query_is_answered_through_the_engine_and_measured(tmp_path, embedder):
    items = load("dev")
    covered = next(i for i in items if i["expect"] == "covered" and "KV cache" in i["query"])
    off = next(i for i in items if i["expect"] == "off-topic")
    model = Scripted("The cache keeps keys and values of past tokens [1], not queries [9].")
    raw = tmp_path / "answers.jsonl"
    # One starter bank for the whole test, embedded by the run's shared model.
    with starter_bank(embedder=embedder) as bank:
        answered_and_scored(covered, off, model, raw, bank)


def answered_and_scored(covered, off, model, raw, bank) -> None:
    asyncio.run(answer_all("scripted", [covered, off], raw, 64, backend=model, bank=bank))
    rows = {r["query"]: r for r in read_jsonl(raw)}
    assert len(model.seen) == 1  # the off-topic query never reaches the model
    answered, refused = rows[covered["query"]], rows[off["query"]]
    assert answered["asked_model"] and answered["mode"] == "llm"
    assert answered["coverage"] in ("covered", "related")
    assert (answered["marks"], answered["valid_marks"]) == (2, 1)  # [9] names no source
    assert answered["model_text"].startswith("The cache keeps") and answered["sources"]
    assert refused["coverage"] == "off-topic" and not refused["asked_model"]

    # Scored twice from the same text: as sent without the check, and with it (an English
    # answer to a Chinese question: the bank's key points go out instead).
    by_query = {r["query"]: r for r in scored(list(rows.values()), bank=bank)}
    one = by_query[covered["query"]]
    assert answered["lang"] == "zh"
    assert (one["verdict"], one["reason"]) == ("replaced", "language")
    assert one["unchecked"]["mode"] == "llm" and one["checked"]["mode"] == "extractive"
    assert one["unchecked"]["substance"] < one["checked"]["substance"]
    assert one["checked"]["substance"] <= one["extractive_substance"] + 5
    assert one["checked"]["carries_sources"] and one["checked"]["answer_lang"] == "zh"
    assert one["unchecked"]["answer_lang"] == "en"
    assert "checked" not in by_query[off["query"]]
    # The part's rule: the expected entry or its twin in the other language, whichever the
    # answer matches best (the first measure, the expected entry alone, is kept beside it).
    assert covered["also"] and one["checked"]["substance_expected_only"] is not None
    assert one["checked"]["substance"] >= one["checked"]["substance_expected_only"]
    store = bank[0]
    twins = [e for e in store.entries() if e.title == "KV cache"]
    assert {e.language for e in twins} == {"en", "zh"}
    grader = OfflineGrader(bank[1])
    english = next(e for e in twins if e.language == "en")
    quoted = "\n".join(english.key_points)
    others = [e for e in twins if e is not english]
    assert _substance(grader, [*others, english], quoted) == grader.grade(english, quoted).score
    assert _substance(grader, others, quoted) < _substance(grader, [*others, english], quoted)

    got = figures(list(by_query.values()))
    assert got["invented_citation_share"] == 0.5
    assert got["model_cites"] == 1.0 and got["model_answers"] == 1
    assert got["off_topic_refused_without_model"] == 1.0
    assert got["answerable_answered"] == 1.0
    assert got["verdicts"] == {"kept": 0, "added": 0, "replaced": 1}
    assert got["checked"]["substance"] > got["unchecked"]["substance"]
    assert got["checked"]["contradicts_cited"] == 0.0

    # a rerun resumes: nothing is asked again
    asyncio.run(answer_all("scripted", [covered, off], raw, 64, backend=model, bank=bank))
    assert len(model.seen) == 1 and len(read_jsonl(raw)) == 2
    assert json.loads(raw.read_text(encoding="utf-8").splitlines()[0])["seconds"] >= 0
