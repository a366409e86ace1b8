"""The evaluation sets under eval/: frozen test parts, entries that exist, dev and test kept
apart, a fixed schema, both languages, and no text lifted from the starter bank."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from knowledge.ingest import STARTER_DIR, ingest
from knowledge.store import Store

EVAL = Path(__file__).parent.parent / "eval"
FROZEN = EVAL / "FROZEN.md"
GRADING = {"dev": EVAL / "grading_dev.jsonl", "test": EVAL / "grading_test.jsonl"}
COVERAGE = {"dev": EVAL / "coverage_dev.jsonl", "test": EVAL / "coverage_test.jsonl"}
GAPS_TEST = EVAL / "coverage_gaps_test.jsonl"
GAPS_FROZEN = EVAL / "gaps_test13.jsonl"  # eval/gaps.py's frozen part (docs/gaps.md)
# Its earlier versions' frozen parts, tuning data since (eval/FROZEN.md)
GAPS_READ = tuple(EVAL / f"gaps_test{n}.jsonl" for n in ("", *map(str, range(3, 13))))
TEST_FILES = (GRADING["test"], COVERAGE["test"], GAPS_TEST, *GAPS_READ, GAPS_FROZEN)

GRADING_KEYS = {"source", "title", "lang", "kind", "good", "partial", "wrong"}
GRADING_OPTIONAL = {"answer_lang"}
COVERAGE_KEYS = {"query", "expect", "kind", "source", "title", "also"}
COVERAGE_KINDS = {"paraphrase", "typo", "mixed", "colloquial", "related", "off-topic"}
GAP_KEYS = {"query", "expect", "kind", "topic"}
# A run of this many characters shared with the bank is a copied phrase, not a paraphrase.
COPY_WINDOW = 40
CJK = re.compile(r"[\u4e00-\u9fff]")
FENCE = re.compile(r"```.*?```", re.S)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _frozen_digests() -> dict[str, str]:
    found = re.findall(r"`(eval/[\w.]+)`\s*[:=]?\s*`?([0-9a-f]{64})`?", FROZEN.read_text("utf-8"))
    return dict(found)


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> dict[tuple[str, str], list]:
    """The starter bank's entries by (source, title), ingested the way the product does it."""
    store = Store(tmp_path_factory.mktemp("data"))
    try:
        ingest(store, [STARTER_DIR], max_bytes=10_000_000)
        by_key: dict[tuple[str, str], list] = {}
        for entry in store.entries():
            by_key.setdefault((entry.source, entry.title), []).append(entry)
        return by_key
    finally:
        store.close()


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_test_parts_match_the_digest_recorded_in_frozen(path):
    digests = _frozen_digests()
    name = f"eval/{path.name}"
    assert name in digests, f"{name} has no sha256 in eval/FROZEN.md"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[name], (
        f"{name} changed after it was frozen; a test part is never edited or tuned on"
    )


@pytest.mark.parametrize("part", ["dev", "test"])
def test_grading_items_have_the_schema(part):
    items = _lines(GRADING[part])
    assert len(items) >= 24
    for item in items:
        assert GRADING_KEYS <= set(item) <= GRADING_KEYS | GRADING_OPTIONAL, item.get("title")
        assert item["lang"] in {"en", "zh"}
        assert item["kind"] in {"concept", "coding"}
        assert item.get("answer_lang", "en" if item["lang"] == "zh" else "zh") != item["lang"]
        answers = [item["good"], item["partial"], item["wrong"]]
        assert all(isinstance(a, str) and a.strip() for a in answers)
        assert len(set(answers)) == 3
        if item["kind"] == "coding":
            assert all("```python" in a for a in answers), item["title"]


@pytest.mark.parametrize("part", ["dev", "test"])
def test_coverage_queries_have_the_schema(part):
    rows = [r for r in _lines(COVERAGE[part]) if r["kind"] != "gap"]
    assert len(rows) >= 40
    for row in rows:
        assert row["query"].strip() and row["kind"] in COVERAGE_KINDS
        assert row["expect"] in {"covered", "related", "off-topic"}
        if row["expect"] == "off-topic":
            assert set(row) == {"query", "expect", "kind"}
        else:
            assert {"source", "title"} <= set(row) <= COVERAGE_KEYS
            assert (row["kind"] == "related") == (row["expect"] == "related")


@pytest.mark.parametrize("part", ["dev", "test"])
def test_every_named_entry_exists_once_in_the_starter_bank(part, starter):
    for item in _lines(GRADING[part]):
        entries = starter.get((item["source"], item["title"]), [])
        assert len(entries) == 1, (item["source"], item["title"])
        assert (entries[0].language, entries[0].kind) == (item["lang"], item["kind"]), item["title"]
    for row in _lines(COVERAGE[part]):
        for named in [row, *row.get("also", [])] if "source" in row else []:
            assert len(starter.get((named["source"], named["title"]), [])) == 1, named["title"]


def test_dev_and_test_share_no_grading_entry():
    dev = {(i["source"], i["title"]) for i in _lines(GRADING["dev"])}
    test = [(i["source"], i["title"]) for i in _lines(GRADING["test"])]
    assert len(set(test)) == len(test)
    assert not dev & set(test)


def test_dev_and_test_share_no_coverage_query_or_expected_entry():
    def norm(q: str) -> str:
        return " ".join(q.lower().split())

    dev, test = _lines(COVERAGE["dev"]), _lines(COVERAGE["test"])
    queries = [norm(r["query"]) for r in dev + test]
    assert len(set(queries)) == len(queries)
    dev_entries = {(r["source"], r["title"]) for r in dev if "source" in r}
    assert not dev_entries & {(r["source"], r["title"]) for r in test if "source" in r}


@pytest.mark.parametrize("part", ["dev", "test"])
def test_grading_parts_balance_languages_and_kinds(part):
    items = _lines(GRADING[part])
    langs = Counter(i["lang"] for i in items)
    assert abs(langs["en"] - langs["zh"]) <= 2
    kinds = Counter((i["lang"], i["kind"]) for i in items)
    assert all(kinds[(lang, kind)] >= 2 for lang in ("en", "zh") for kind in ("concept", "coding"))
    crossed = sum(1 for i in items if "answer_lang" in i)
    assert 0.1 <= crossed / len(items) <= 0.35
    assert {i["answer_lang"] for i in items if "answer_lang" in i} == {"en", "zh"}


def _gap_rows(path: Path) -> list[dict]:
    return [r for r in _lines(path) if r["kind"] == "gap"]


@pytest.mark.parametrize("path", [COVERAGE["dev"], GAPS_TEST], ids=lambda p: p.name)
def test_gap_queries_have_the_schema_and_both_languages_per_topic(path):
    rows = _gap_rows(path)
    assert len(rows) >= 16
    for row in rows:
        assert set(row) == GAP_KEYS and row["expect"] == "gap" and row["query"].strip()
    scripts: dict[str, set[bool]] = {}
    for row in rows:
        scripts.setdefault(row["topic"], set()).add(bool(CJK.search(row["query"])))
    assert all(found == {True, False} for found in scripts.values()), scripts


def test_the_gap_test_part_holds_only_gaps_and_shares_no_topic_or_query_with_dev():
    test = _lines(GAPS_TEST)
    assert all(r["kind"] == "gap" for r in test)
    dev = _gap_rows(COVERAGE["dev"])
    assert not {r["topic"] for r in dev} & {r["topic"] for r in test}
    every = [" ".join(r["query"].lower().split()) for r in _lines(COVERAGE["dev"]) + test]
    assert len(set(every)) == len(every)


@pytest.mark.parametrize("part", ["dev", "test"])
def test_coverage_parts_hold_every_kind_in_both_languages(part):
    rows = [r for r in _lines(COVERAGE[part]) if r["kind"] != "gap"]
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == COVERAGE_KINDS
    chinese = sum(1 for r in rows if CJK.search(r["query"]))
    assert 0.35 <= chinese / len(rows) <= 0.65
    for expect in ("covered", "related", "off-topic"):
        scripts = {bool(CJK.search(r["query"])) for r in rows if r["expect"] == expect}
        assert scripts == {True, False}, expect


def test_no_text_of_the_sets_is_copied_from_the_starter_bank():
    bank = " ".join(
        " ".join(p.read_text(encoding="utf-8").split()) for p in sorted(STARTER_DIR.glob("*.md"))
    )
    copied = []
    for path in [*GRADING.values(), *COVERAGE.values(), GAPS_TEST]:
        for row in _lines(path):
            for field in ("good", "partial", "wrong", "query"):
                # Code must match the problem's signature, so only the prose is compared.
                text = " ".join(FENCE.sub(" ", row.get(field, "")).split())
                for start in range(max(0, len(text) - COPY_WINDOW + 1)):
                    if text[start : start + COPY_WINDOW] in bank:
                        copied.append((path.name, row.get("title"), field))
                        break
    assert not copied


@pytest.mark.parametrize("path", [*GAPS_READ, GAPS_FROZEN], ids=lambda p: p.name)
def test_the_gaps_test_part_has_techniques_in_both_languages_and_far_questions(path):
    rows = _lines(path)
    by_topic: dict[str, set[bool]] = {}
    for row in rows:
        assert row["expect"] in ("gap", "off-topic") and row["kind"] == row["expect"]
        if row["expect"] == "gap":
            by_topic.setdefault(row["topic"], set()).add(bool(CJK.search(row["query"])))
    assert len(by_topic) >= 10 and all(langs == {True, False} for langs in by_topic.values())
    far = [r["query"] for r in rows if r["expect"] == "off-topic"]
    assert len(far) >= 10 and any(CJK.search(q) for q in far)


def test_the_gaps_frozen_part_shares_no_topic_or_question_with_the_parts_tuned_on():
    def norm(q: str) -> str:
        return " ".join(q.lower().split())

    earlier = [
        r for p in (COVERAGE["dev"], COVERAGE["test"], GAPS_TEST, *GAPS_READ) for r in _lines(p)
    ]
    frozen = _lines(GAPS_FROZEN)
    assert not {r["topic"] for r in frozen if "topic" in r} & {r.get("topic") for r in earlier}
    asked = [norm(r["query"]) for r in frozen]
    assert len(set(asked)) == len(asked)
    assert not set(asked) & {norm(r["query"]) for r in earlier}
