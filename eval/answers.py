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
  entry's key points, beside the same score of the extractive answer (the bank's key points
  quoted) as the ceiling an answer built from the bank reaches on this measure.

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

from bot.tutoring.answering import AnswerEngine, extractive, language_of  # noqa: E402
from bot.tutoring.grading import OfflineGrader  # noqa: E402
from bot.tutoring.rubric import judge_key  # noqa: E402
from eval.coverage import PARTS, load  # noqa: E402
from eval.starter import read_jsonl, share, starter_bank  # noqa: E402
from knowledge.entry import Entry  # noqa: E402

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
    model: str, items: list[dict], raw: Path, max_new_tokens: int, backend: Any = None
) -> None:
    """Ask every query of the part not yet in `raw`, appending one row per query."""
    done = {r["query"] for r in read_jsonl(raw)}
    if backend is None:
        from bot.llm.hf import TransformersBackend

        backend = TransformersBackend(model)
    recording = Recording(backend)
    started = time.perf_counter()
    recording.load()
    print(f"loaded {model} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    try:
        with starter_bank() as (store, retriever):
            grader = OfflineGrader(retriever)
            engine = AnswerEngine(retriever, recording, timeout_s=3600)
            by_key = {(e.source, e.title): e for e in store.entries()}
            for item in items:
                if item["query"] in done:
                    continue
                expected = by_key.get((item.get("source"), item.get("title")))
                row = await _measured(engine, recording, grader, item, expected, max_new_tokens)
                with raw.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                print(f"{item['query'][:50]}: {row['seconds']} s", file=sys.stderr)
    finally:
        recording.close()


async def _measured(
    engine: AnswerEngine,
    recording: Recording,
    grader: OfflineGrader,
    item: dict,
    expected: Entry | None,
    max_new_tokens: int,
) -> dict:
    """One query asked through the engine, and what is measured of its reply."""
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
        "coverage": reply.coverage,
        "mode": reply.mode,
        "asked_model": asked,
        "marks": n_marks,
        "valid_marks": n_valid,
        "cited": list(reply.citations),
        "lang": language_of(item["query"]),
        "answer_lang": language_of(body(reply.answer)),
        "substance": grader.grade(expected, reply.answer).score if expected else None,
        "extractive_substance": (
            grader.grade(expected, extractive(item["query"], [expected])).score
            if expected
            else None
        ),
        "answer": reply.answer,
        "seconds": round(seconds, 1),
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def figures(rows: list[dict]) -> dict[str, Any]:
    """The answer-quality figures over recorded rows."""
    answerable = [r for r in rows if r["expect"] != "off-topic"]
    off = [r for r in rows if r["expect"] == "off-topic"]
    by_model = [r for r in rows if r["asked_model"]]
    llm = [r for r in by_model if r["mode"] == "llm"]
    marks_all = sum(r["marks"] for r in llm)
    substance = [r for r in llm if r["substance"] is not None]
    return {
        "queries": len(rows),
        "answerable_answered": share(
            sum(r["coverage"] != "off-topic" for r in answerable), len(answerable)
        ),
        "off_topic_refused_without_model": share(
            sum(r["coverage"] == "off-topic" and not r["asked_model"] for r in off), len(off)
        ),
        "model_answers": len(llm),
        "model_failed_to_extractive": len(by_model) - len(llm),
        "cites": share(sum(r["marks"] > 0 for r in llm), len(llm)),
        "invented_citation_share": share(marks_all - sum(r["valid_marks"] for r in llm), marks_all),
        "asker_language": share(sum(r["answer_lang"] == r["lang"] for r in llm), len(llm)),
        "asker_language_zh": share(
            sum(r["answer_lang"] == "zh" for r in llm if r["lang"] == "zh"),
            sum(r["lang"] == "zh" for r in llm),
        ),
        "substance": _mean([r["substance"] for r in substance]),
        "extractive_substance": _mean([r["extractive_substance"] for r in substance]),
        "seconds_per_model_answer": _mean([r["seconds"] for r in llm]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the model: hub name, folder or .gguf")
    parser.add_argument("--gguf-file", help="a .gguf file inside --model's folder")
    parser.add_argument("--part", choices=sorted(PARTS), default="dev")
    parser.add_argument("--raw", type=Path, help="answers, appended (default in /tmp)")
    parser.add_argument("--replay", action="store_true", help="figures from --raw, no model")
    parser.add_argument("--limit", type=int, help="only the first N queries of the part")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()
    model = str(Path(args.model) / args.gguf_file) if args.gguf_file else args.model
    name = judge_key(model)  # a hub name as is, a local path by its last part
    raw = args.raw or Path(tempfile.gettempdir()) / f"answers-{name}-{args.part}.jsonl"
    items = load(args.part)[: args.limit]
    if not args.replay:
        asyncio.run(answer_all(model, items, raw, args.max_new_tokens))
    wanted = {i["query"] for i in items}
    rows = [r for r in read_jsonl(raw) if r["query"] in wanted]
    report = {"model": name, "part": args.part, "date": date.today().isoformat(), "of": len(items)}
    report.update(figures(rows))
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
