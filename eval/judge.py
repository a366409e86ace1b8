"""The rubric judge measured with a real language model: pairwise order and rating agreement of the
judge alone, the offline grader alone and the two blended, on a part of the graded set.

    python eval/judge.py --model PATH [--gguf-file NAME] --part dev --calibrate
    python eval/judge.py --model PATH [--gguf-file NAME] --part test      # once, at the end

Two routes, as the grader has them: `labels` (the default: each key point's label read off the
model's logits, what the grader does with a model in this process) and `json` (the model writes
its verdict, what the grader does with a model behind an API).

Rating agreement: a good answer rated Good/Easy (score >= 60), a partial one Hard/Again (< 60), a
wrong one Again (< 40). Each judge reply is appended to `--raw` as it comes, so a long run can be
stopped and resumed, and the figures recomputed from the replies without the model (`--replay`).
`--calibrate` (dev part only) writes the blend weight that maximises rating agreement on dev into
bot/tutoring/judge_calibration.json, under the model's name.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.tutoring.code_rubric import rubric_entry  # noqa: E402
from bot.tutoring.grading import OfflineGrader, key_points  # noqa: E402
from bot.tutoring.rubric import (  # noqa: E402
    CALIBRATION,
    LABELS,
    MAX_VERDICT_TOKENS,
    Reliability,
    Verdict,
    blend,
    judge_key,
    judge_messages,
    label_messages,
    label_questions,
    load_calibration,
    parse_verdict,
    reliability_for,
    verdict_from_labels,
    verdict_score,
)
from eval.starter import read_jsonl, starter_bank  # noqa: E402

KINDS = ("good", "partial", "wrong")
PAIRS = (("good", "partial"), ("good", "wrong"), ("partial", "wrong"))
WEIGHTS = [round(0.05 * n, 2) for n in range(21)]


def load_part(part: str) -> list[dict]:
    """The graded set's dev or test part, one dict per question."""
    path = Path(__file__).with_name(f"grading_{part}.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def rated_right(kind: str, score: int) -> bool:
    """Whether a score files the answer under the rating its kind deserves."""
    return score >= 60 if kind == "good" else score < (60 if kind == "partial" else 40)


def figures(scores: list[dict[str, int]]) -> dict[str, float]:
    """Pairwise order and rating agreement over questions, each a {kind: score} dict."""
    pairs = [s[a] > s[b] for s in scores for a, b in PAIRS]
    rated = {k: [rated_right(k, s[k]) for s in scores] for k in KINDS}
    every = [r for k in KINDS for r in rated[k]]
    return {
        "pairwise": round(sum(pairs) / max(1, len(pairs)), 4),
        "agreement": round(sum(every) / max(1, len(every)), 4),
        **{f"agreement_{k}": round(sum(v) / max(1, len(v)), 4) for k, v in rated.items()},
        "mean": {k: round(sum(s[k] for s in scores) / max(1, len(scores)), 1) for k in KINDS},
    }


def scored(rows: list[dict], reliability: Reliability) -> dict[str, list[dict[str, int]]]:
    """Per design (judge, offline, blended), each complete question's scores."""
    by_question: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_question.setdefault(row["key"], {})[row["kind"]] = row
    out: dict[str, list[dict[str, int]]] = {"judge": [], "offline": [], "blended": []}
    for answers in by_question.values():
        if set(answers) != set(KINDS):
            continue
        judge, offline, blended = {}, {}, {}
        for kind, row in answers.items():
            verdict = row_verdict(row)
            offline[kind] = row["offline"]
            if verdict is None:  # malformed: the grader falls back to offline
                judge[kind] = blended[kind] = row["offline"]
                continue
            judge[kind] = verdict_score(verdict)
            blended[kind] = blend(judge[kind], row["offline"], verdict.contradicts, reliability)
        out["judge"].append(judge)
        out["offline"].append(offline)
        out["blended"].append(blended)
    return out


def row_verdict(row: dict) -> Verdict | None:
    """The verdict of one recorded judge reply, by its route."""
    if "labels" in row:
        return verdict_from_labels(row["labels"])
    return parse_verdict(row["reply"], row["points"], row["answer"])


def calibrate(rows: list[dict]) -> tuple[Reliability, float]:
    """The weight (and whether caps apply) maximising rating agreement, then pairwise order;
    ties go to the lower weight and to capping."""
    best: tuple[tuple[float, float, float, bool], Reliability] | None = None
    for cap in (True, False):
        for weight in WEIGHTS:
            reliability = Reliability(weight, cap)
            got = figures(scored(rows, reliability)["blended"])
            rank = (got["agreement"], got["pairwise"], -weight, cap)
            if best is None or rank > best[0]:
                best = (rank, reliability)
    assert best is not None
    return best[1], best[0][0]


async def judge_all(
    model: str, items: list[dict], raw: Path, max_new_tokens: int, route: str
) -> None:
    """Grade every answer offline and ask the judge, appending each reply to `raw`."""
    from bot.llm.hf import TransformersBackend

    done = {(r["key"], r["kind"]) for r in read_jsonl(raw)}
    backend = TransformersBackend(model)
    started = time.perf_counter()
    backend.load()
    print(f"loaded {model} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with starter_bank() as (store, retriever):
        offline = OfflineGrader(retriever)
        by_key = {(e.source, e.title): e for e in store.entries()}
        for item in items:
            entry = by_key[(item["source"], item["title"])]
            if item["kind"] == "coding":  # as the grader sees an untested coding problem
                entry = rubric_entry(entry)
            points = key_points(entry)
            for kind in KINDS:
                key = f"{item['source']}#{item['title']}"
                if (key, kind) in done:
                    continue
                answer = item[kind]
                began = time.perf_counter()
                reply: dict = {}
                if route == "labels":
                    found = await backend.classify(
                        label_messages(entry, answer), label_questions(points), LABELS
                    )
                    reply["labels"] = [{k: round(v, 4) for k, v in f.items()} for f in found]
                else:
                    chunks = [
                        c
                        async for c in backend.stream(
                            judge_messages(entry, answer, points), max_new_tokens=max_new_tokens
                        )
                    ]
                    reply["reply"] = "".join(chunks)
                row = {
                    "key": key,
                    "kind": kind,
                    "lang": item["lang"],
                    "points": points,
                    "answer": answer,
                    "offline": offline.grade(entry, answer).score,
                    **reply,
                    "seconds": round(time.perf_counter() - began, 1),
                }
                with raw.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                print(f"{key} {kind}: {row['seconds']} s", file=sys.stderr)
    backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the judge: hub name, folder or .gguf")
    parser.add_argument("--gguf-file", help="a .gguf file inside --model's folder")
    parser.add_argument("--part", choices=("dev", "test"), default="dev")
    parser.add_argument("--raw", type=Path, help="judge replies, appended (default in /tmp)")
    parser.add_argument("--replay", action="store_true", help="figures from --raw, no model")
    parser.add_argument("--calibrate", action="store_true", help="write the dev weight")
    parser.add_argument("--max-new-tokens", type=int, default=MAX_VERDICT_TOKENS)
    parser.add_argument("--route", choices=("labels", "json"), default="labels")
    args = parser.parse_args()
    model = str(Path(args.model) / args.gguf_file) if args.gguf_file else args.model
    name = judge_key(model, args.route)
    raw = args.raw or Path(tempfile.gettempdir()) / f"judge-{name}-{args.part}.jsonl"
    items = load_part(args.part)
    if not args.replay:
        asyncio.run(judge_all(model, items, raw, args.max_new_tokens, args.route))
    rows = read_jsonl(raw)
    report: dict = {
        "model": name,
        "route": args.route,
        "part": args.part,
        "date": date.today().isoformat(),
    }
    if args.calibrate:
        if args.part != "dev":
            parser.error("--calibrate tunes on the dev part only")
        reliability, _ = calibrate(rows)
        table = json.loads(CALIBRATION.read_text(encoding="utf-8")) if CALIBRATION.is_file() else {}
        table[name] = {
            "weight": reliability.weight,
            "cap": reliability.cap,
            "part": "dev",
            "answers": len(rows),
            "date": report["date"],
        }
        CALIBRATION.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    reliability = reliability_for(model, load_calibration(), args.route)
    designs = scored(rows, reliability)
    malformed = sum(row_verdict(r) is None for r in rows)
    report.update(
        {
            "questions": len(designs["judge"]),
            "of": len(items),
            "answers": len(rows),
            "malformed": malformed,
            "weight": reliability.weight,
            "cap": reliability.cap,
            "seconds_per_answer": round(sum(r["seconds"] for r in rows) / max(1, len(rows)), 1),
            **{design: figures(scores) for design, scores in designs.items()},
        }
    )
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
