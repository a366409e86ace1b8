"""Coverage evaluation: does the tutor answer what the bank covers, answer from the closest
entries what is only related, and refuse what is off-topic?

    python eval/coverage.py               # the dev part (tune on it), figures as JSON
    python eval/coverage.py --part test   # the frozen test part (eval/FROZEN.md): report only
    python eval/coverage.py --part gaps   # the frozen part of in-field gaps: report only
    python eval/coverage.py --misses      # also list each query decided wrongly

The bank is the starter bank and, when they are beside the checkout (../shared/bank), the seed
documents, as a deployment has them (`--starter-only` for the starter bank alone), ingested into
a temporary folder and searched with the shipped offline embedder, design and thresholds
(retriever/calibration.json, Thresholds in retriever/search.py). A gap (a technique of the field
no entry describes) is decided right when it is not covered.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.starter import share, starter_bank  # noqa: E402
from retriever.embed import DEFAULT_MODEL  # noqa: E402
from retriever.search import Retriever  # noqa: E402

PARTS = {
    "dev": "coverage_dev.jsonl",
    "test": "coverage_test.jsonl",
    "gaps": "coverage_gaps_test.jsonl",
}


def load(part: str) -> list[dict]:
    path = Path(__file__).with_name(PARTS[part])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def evaluate(retriever: Retriever, items: list[dict]) -> tuple[dict, list[dict]]:
    """The figures, overall and per kind, and the queries decided wrongly."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses = []
    for item in items:
        result = retriever.search(item["query"], 5)
        decided = result.coverage
        expect = item["expect"]
        wanted = {(item.get("source"), item.get("title"))}
        wanted |= {(a["source"], a["title"]) for a in item.get("also", [])}
        ranks = [n for n, h in enumerate(result.hits, 1) if (h.source, h.title) in wanted]
        rank = ranks[0] if ranks else None
        for key in ("all", item["kind"]):
            c = counts[key]
            c["queries"] += 1
            c[f"expect_{expect}"] += 1
            c[f"{expect}_as_{decided}"] += 1
            if expect in ("covered", "related"):
                c["hit1"] += rank == 1
                c["hit5"] += rank is not None and rank <= 5
        if decided != expect and not (expect == "gap" and decided != "covered"):
            top = result.hits[0].title if result.hits else ""
            misses.append({"query": item["query"], "expect": expect, "got": decided, "top": top})
    report = {}
    for key, c in counts.items():
        in_bank = c["expect_covered"]
        related = c["expect_related"]
        off = c["expect_off-topic"]
        gaps = c["expect_gap"]
        report[key] = {
            "queries": c["queries"],
            "in_bank_refused": share(c["covered_as_off-topic"], in_bank),
            "in_bank_covered": share(c["covered_as_covered"], in_bank),
            "off_topic_answered": share(off - c["off-topic_as_off-topic"], off),
            "related_as_related": share(c["related_as_related"], related),
            "related_answered": share(related - c["related_as_off-topic"], related),
            "hit@1": share(c["hit1"], in_bank + related),
            "hit@5": share(c["hit5"], in_bank + related),
            "gap_claimed_covered": share(c["gap_as_covered"], gaps),
            "gap_as_related": share(c["gap_as_related"], gaps),
            "gap_as_off_topic": share(c["gap_as_off-topic"], gaps),
            "in_bank_as_related": share(c["covered_as_related"], in_bank),
        }
    return report, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS), default="dev", help="which part")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the embedding model")
    parser.add_argument("--misses", action="store_true", help="list the wrong decisions")
    parser.add_argument("--starter-only", action="store_true", help="no seed documents")
    args = parser.parse_args()
    with starter_bank(args.model, seed=not args.starter_only) as (store, retriever):
        entries = store.count()
        report, misses = evaluate(retriever, load(args.part))
    out: dict[str, object] = {"part": args.part, "model": args.model, "entries": entries, **report}
    if args.misses:
        out["misses"] = misses
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
