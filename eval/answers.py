"""Answer quality with a real language model, on a part of the coverage set: what `tutor ask`
replies to each query, with the model given by path, judged by code.

    python eval/answers.py --model PATH [--gguf-file NAME] --part dev
    python eval/answers.py --model PATH [--gguf-file NAME] --part test    # the frozen part

Per query, through the product's own AnswerEngine over the starter bank (offline embedder):

- **decided right**: covered or related → an answer with citations; off-topic → the refusal, the
  model not asked;
- **cites**: the model's own text cites at least one source ([n] or [id]);
- **invented citations**: the share of the model's citation marks that name no retrieved source
  (the engine drops them before the learner sees the answer; this measures the model);
- **asker's language**: the answer is in the query's language (Chinese from 30% CJK characters);
- **substance**: the offline grader's score (0-100) of the answer against the query's expected
  entry's key points, beside the same score of the extractive answer (the expected entry's key
  points quoted: the ceiling an answer built from the bank reaches on this measure) and of the
  tutor's answer with no model (the retrieved entries' key points: `bank_answer_substance`).

Each row keeps the model's own text, so the figures are computed twice from the same
generations: **with the check** (`bot/tutoring/answer_check.py`: what the product sends, through
the engine's own `settle`) and **without** it. Beside substance: the share of answers that
contradict an entry they cite (the offline grader's contradiction cues, on the answer's own
words: the bank's key points it quotes are left out), and the share that carry their sources
(every citation shown as [id]). The check's verdicts are counted (kept / added / replaced).
`--thin` / `--keep` replay the check with other thresholds (dev part only: that is how they
were chosen).

Replies are appended to `--raw` as they come (a long run resumes; `--replay` recomputes the
figures without the model). A measuring instrument: nothing here is a dependency of the tutor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.tutoring.answer_check import KEEP, THIN, AnswerCheck  # noqa: E402
from bot.tutoring.answering import (  # noqa: E402
    AnswerEngine,
    check_citations,
    extractive,
    language_of,
    without_prompt,
)
from bot.tutoring.grading import OfflineGrader  # noqa: E402
from bot.tutoring.rubric import judge_key  # noqa: E402
from eval.coverage import PARTS, load  # noqa: E402
from eval.starter import read_jsonl, share, starter_bank  # noqa: E402

VERDICTS = ("kept", "added", "replaced")
_MARK = re.compile(r"\[([0-9a-f]{6,16}|\d{1,2})\]")
_SOURCE = re.compile(r'<source n="\d+" id="([^"]+)">')


class Recording:
    """A backend that passes everything through and keeps the model's raw text of the last
    answer (before the engine checks its citations)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name = backend.name
        self.text = ""
        self.sources: list[str] = []  # ids of the sources the model was given, in order
        self.calls = 0

    def load(self) -> None:
        self.backend.load()

    def close(self) -> None:
        self.backend.close()

    async def stream(self, messages: list, **kwargs: Any) -> AsyncIterator[str]:
        self.calls += 1
        self.text = ""
        self.sources = _SOURCE.findall(messages[-1]["content"]) if messages else []
        async for chunk in self.backend.stream(messages, **kwargs):
            self.text += chunk
            yield chunk


def marks(text: str, source_ids: list[str]) -> tuple[int, int]:
    """Citation marks in a model's text, and how many of them name a retrieved source."""
    found = _MARK.findall(text)
    valid = sum(
        1
        for token in found
        if (token.isdigit() and 1 <= int(token) <= len(source_ids)) or token in source_ids
    )
    return len(found), valid


def body(answer: str) -> str:
    """The answer's own words: without citation marks and code."""
    return _MARK.sub("", re.sub(r"```.*?(```|$)", "", answer, flags=re.S))


async def answer_all(
    model: str,
    items: list[dict],
    raw: Path,
    max_new_tokens: int,
    backend: Any = None,
    bank: Any = None,
) -> None:
    """Ask every query of the part not yet in `raw`, appending one row per query; `bank` an
    open (store, retriever) pair to reuse."""
    if bank is None:
        with starter_bank() as opened:
            return await answer_all(model, items, raw, max_new_tokens, backend, opened)
    done = {r["query"] for r in read_jsonl(raw)}
    if backend is None:
        from bot.llm.hf import TransformersBackend

        backend = TransformersBackend(model)
    recording = Recording(backend)
    started = time.perf_counter()
    recording.load()
    print(f"loaded {model} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    try:
        engine = AnswerEngine(bank[1], recording, timeout_s=3600)
        for item in items:
            if item["query"] in done:
                continue
            row = await _measured(engine, recording, item, max_new_tokens)
            with raw.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"{item['query'][:50]}: {row['seconds']} s", file=sys.stderr)
    finally:
        recording.close()


async def _measured(
    engine: AnswerEngine, recording: Recording, item: dict, max_new_tokens: int
) -> dict:
    """One query asked through the engine (without the check: the check is replayed on the
    model's recorded text by `scored`), and what is kept of its reply."""
    calls = recording.calls
    began = time.perf_counter()
    reply = await engine.answer(item["query"], max_new_tokens=max_new_tokens)
    seconds = time.perf_counter() - began
    asked = recording.calls > calls
    n_marks, n_valid = marks(recording.text, recording.sources) if asked else (0, 0)
    return {
        "query": item["query"],
        "kind": item["kind"],
        "expect": item["expect"],
        "source": item.get("source"),
        "title": item.get("title"),
        "also": item.get("also") or [],
        "coverage": reply.coverage,
        "mode": reply.mode,
        "asked_model": asked,
        "marks": n_marks,
        "valid_marks": n_valid,
        "sources": recording.sources if asked else [],
        "model_text": recording.text if asked else "",
        "cited": list(reply.citations),
        "lang": language_of(item["query"]),
        "answer": reply.answer,
        "seconds": round(seconds, 1),
    }


def scored(rows: list[dict], thin: int = THIN, keep: int = KEEP, bank: Any = None) -> list[dict]:
    """Each recorded model answer as the learner gets it with the check and without it (both
    through the engine's own code), measured against the expected entry and its citations;
    `bank` an open (store, retriever) pair to reuse."""
    if bank is None:
        with starter_bank() as opened:
            return scored(rows, thin, keep, opened)
    store, retriever = bank
    out = []
    grader = OfflineGrader(retriever)
    engine = AnswerEngine(retriever, None, check=AnswerCheck(grader, thin=thin, keep=keep))
    engine.backend = object()  # a model answered these: its fallbacks say so
    by_key = {(e.source, e.title): e for e in store.entries()}
    for row in rows:
        expected = by_key.get((row.get("source"), row.get("title")))
        # The part's own rule: the expected entry "plus also: its twin in the other language,
        # which may equally come first" (eval/FROZEN.md). An answer is measured against the one
        # of them it matches best, the ceiling likewise; `_expected_only` keeps the first measure.
        twins = [by_key.get((a.get("source"), a.get("title"))) for a in row.get("also") or []]
        accepted = [e for e in [expected, *twins] if e is not None] if expected else []
        row = {**row, "expected_found": expected is not None}
        if row["asked_model"] and row["mode"] == "llm":
            sources = [e for e in map(store.entry, row["sources"]) if e is not None]
            question = row["query"]
            text, cited = check_citations(without_prompt(row["model_text"]), sources)
            plain = engine.settle(question, text, cited, sources, None)
            checked = engine.check.check(question, text, sources)  # type: ignore[union-attr]
            final = engine.settle(question, text, cited, sources, checked)
            for name, answer in (("unchecked", plain), ("checked", final)):
                row[name] = _figures_of(grader, store, question, answer, accepted)
            row["verdict"] = checked.verdict
            row["reason"] = checked.reason
            # The ceiling: an accepted entry's own key points quoted.
            ceilings = [grader.grade(e, extractive(question, [e])).score for e in accepted]
            row["extractive_substance"], row["extractive_substance_expected_only"] = _best_first(
                ceilings
            )
            # What the tutor answers with no model: the retrieved entries' key points.
            bank = [grader.grade(e, extractive(question, sources)).score for e in accepted]
            row["bank_substance"], row["bank_substance_expected_only"] = _best_first(bank)
        out.append(row)
    return out


def _substance(grader: OfflineGrader, accepted: list, text: str) -> int | None:
    """The offline grader's score of `text` against the accepted entry it matches best."""
    return _best_first([grader.grade(e, text).score for e in accepted])[0]


def _best_first(scores: list[int]) -> tuple[int | None, int | None]:
    """The best of the scores against the accepted entries, and the expected entry's (the first)."""
    return max(scores, default=None), scores[0] if scores else None


def _figures_of(grader: OfflineGrader, store: Any, question: str, answer: Any, accepted) -> dict:
    cited = [e for e in map(store.entry, answer.citations) if e is not None]
    # The bank's own key points, quoted, are no claim of the model's: the grader's cues read
    # one entry's points against another's (docs/answers.md), so the model's words are checked.
    quoted = {f"- {p}" for e in cited for p in e.key_points}
    own = "\n".join(line for line in answer.answer.splitlines() if line.strip() not in quoted)
    best, first = _best_first([grader.grade(e, answer.answer).score for e in accepted])
    return {
        "substance": best,
        "substance_expected_only": first,
        "contradicts_cited": any(grader.grade(e, own).contradicted for e in cited),
        "answer_lang": language_of(body(answer.answer)),
        "carries_sources": bool(answer.citations)
        and all(f"[{c}]" in answer.answer for c in answer.citations),
        "mode": answer.mode,
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _mean_of(rows: list[dict], key: str) -> float | None:
    """The mean of `key` over the rows that have a value for it."""
    return _mean([r[key] for r in rows if r.get(key) is not None])


def figures(rows: list[dict]) -> dict[str, Any]:
    """The answer-quality figures over scored rows: the decisions, what the model did, and
    the answers as sent with the check beside the same answers without it."""
    answerable = [r for r in rows if r["expect"] != "off-topic"]
    off = [r for r in rows if r["expect"] == "off-topic"]
    by_model = [r for r in rows if r["asked_model"]]
    llm = [r for r in by_model if r["mode"] == "llm"]
    marks_all = sum(r["marks"] for r in llm)
    report: dict[str, Any] = {
        "queries": len(rows),
        "answerable_answered": share(
            sum(r["coverage"] != "off-topic" for r in answerable), len(answerable)
        ),
        "off_topic_refused_without_model": share(
            sum(r["coverage"] == "off-topic" and not r["asked_model"] for r in off), len(off)
        ),
        "model_answers": len(llm),
        "model_failed_to_extractive": len(by_model) - len(llm),
        "model_cites": share(sum(r["marks"] > 0 for r in llm), len(llm)),
        "invented_citation_share": share(marks_all - sum(r["valid_marks"] for r in llm), marks_all),
        "verdicts": {
            v: sum(r.get("verdict") == v for r in llm) for v in ("kept", "added", "replaced")
        },
        "extractive_substance": _mean_of(llm, "extractive_substance"),
        "bank_answer_substance": _mean_of(llm, "bank_substance"),
        # The first measure, against the expected entry alone (its twin not accepted).
        "expected_only": {
            "extractive_substance": _mean_of(llm, "extractive_substance_expected_only"),
            "bank_answer_substance": _mean_of(llm, "bank_substance_expected_only"),
        },
        "seconds_per_model_answer": _mean([r["seconds"] for r in llm]),
    }
    for name in ("unchecked", "checked"):
        got = [r[name] for r in llm if name in r]
        report[name] = {
            "substance": _mean_of(got, "substance"),
            "substance_expected_only": _mean_of(got, "substance_expected_only"),
            "contradicts_cited": share(sum(g["contradicts_cited"] for g in got), len(got)),
            "asker_language": share(
                sum(g["answer_lang"] == r["lang"] for r, g in zip(llm, got, strict=True)), len(got)
            ),
            "carries_sources": share(sum(g["carries_sources"] for g in got), len(got)),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the model: hub name, folder or .gguf")
    parser.add_argument("--gguf-file", help="a .gguf file inside --model's folder")
    parser.add_argument("--part", choices=sorted(PARTS), default="dev")
    parser.add_argument("--raw", type=Path, help="answers, appended (default in /tmp)")
    parser.add_argument("--replay", action="store_true", help="figures from --raw, no model")
    parser.add_argument("--limit", type=int, help="only the first N queries of the part")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--thin", type=int, default=THIN, help="replay the check: THIN")
    parser.add_argument("--keep", type=int, default=KEEP, help="replay the check: KEEP")
    args = parser.parse_args()
    model = str(Path(args.model) / args.gguf_file) if args.gguf_file else args.model
    name = judge_key(model)  # a hub name as is, a local path by its last part
    raw = args.raw or Path(tempfile.gettempdir()) / f"answers-{name}-{args.part}.jsonl"
    items = load(args.part)[: args.limit]
    if not args.replay:
        asyncio.run(answer_all(model, items, raw, args.max_new_tokens))
    wanted = {i["query"] for i in items}
    if args.part == "test" and (args.thin, args.keep) != (THIN, KEEP):
        parser.error("the check's thresholds are chosen on the dev part, never on test")
    also = {i["query"]: i.get("also") or [] for i in items}
    recorded = [{**r, "also": also[r["query"]]} for r in read_jsonl(raw) if r["query"] in wanted]
    rows = scored(recorded, args.thin, args.keep)
    report = {"model": name, "part": args.part, "date": date.today().isoformat(), "of": len(items)}
    report["check"] = {"thin": args.thin, "keep": args.keep}
    report.update(figures(rows))
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
