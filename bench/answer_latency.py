"""Seconds to the first token and to the whole answer, and resident memory, of a real model
answering through the product's own answer engine (starter bank, bundled embedder, the check):
what a learner waits for on this machine.

    python bench/answer_latency.py --model PATH [--gguf-file NAME] [--questions 4]

The model is loaded as the tutor loads it (`TransformersBackend`, float32 on a CPU, with the
batch scheduler and the KV cache sized as `TUTOR_LLM_BATCH` and the machine allow). Resident
memory is read from /proc after loading and at the end (the peak, VmHWM). Questions are the
first --questions covered ones of the coverage dev part, asked one at a time. A measuring
instrument: the model path is an argument, never a dependency. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.llm.hf import TransformersBackend
from bot.tutoring.answer_check import AnswerCheck
from bot.tutoring.answering import AnswerEngine
from bot.tutoring.grading import OfflineGrader
from eval.coverage import load
from eval.starter import starter_bank


def memory_mib() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MiB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss": found.get("VmRSS", 0.0), "peak": found.get("VmHWM", 0.0)}


async def timed(engine: AnswerEngine, question: str, max_new_tokens: int) -> dict:
    began = time.perf_counter()
    first: list[float] = []

    def on_text(_: str) -> None:
        if not first:
            first.append(time.perf_counter() - began)

    answer = await engine.answer(question, on_text=on_text, max_new_tokens=max_new_tokens)
    return {
        "first_token_s": round(first[0], 2) if first else None,
        "answer_s": round(time.perf_counter() - began, 2),
        "mode": answer.mode,
        "checked": answer.checked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="hub name, folder or .gguf")
    parser.add_argument("--gguf-file", help="a .gguf file inside --model's folder")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32, help="TUTOR_LLM_BATCH")
    args = parser.parse_args()
    model = str(Path(args.model) / args.gguf_file) if args.gguf_file else args.model
    questions = [i["query"] for i in load("dev") if i["expect"] == "covered"][: args.questions]
    before = memory_mib()
    backend = TransformersBackend(model, batch=args.batch)
    began = time.perf_counter()
    backend.load()
    load_s = round(time.perf_counter() - began, 1)
    loaded = memory_mib()
    cache = backend.scheduler.step.cache if backend.scheduler is not None else None
    rows = []
    with starter_bank() as (_, retriever):
        engine = AnswerEngine(
            retriever, backend, timeout_s=3600, check=AnswerCheck(OfflineGrader(retriever))
        )
        for question in questions:
            got = asyncio.run(timed(engine, question, args.max_new_tokens))
            rows.append({"query": question[:60], **got})
    backend.close()
    firsts = [r["first_token_s"] for r in rows if r["first_token_s"] is not None]
    report = {
        "model": Path(model).name,
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "load_s": load_s,
        "memory_mib": {"before_load": before["rss"], "after_load": loaded["rss"], **memory_mib()},
        "kv_cache": (
            {"slots": cache.slots, "max_len": cache.max_len, "mib": round(cache.bytes / 2**20)}
            if cache is not None
            else None
        ),
        "max_new_tokens": args.max_new_tokens,
        "first_token_s_mean": round(sum(firsts) / len(firsts), 2) if firsts else None,
        "answer_s_mean": round(sum(r["answer_s"] for r in rows) / len(rows), 2) if rows else None,
        "answers": rows,
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
