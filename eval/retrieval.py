"""Retrieval evaluation: hit@1, hit@5, MRR, cross-lingual hit@5 and the abstention confusion.

    python eval/retrieval.py                 # the shipped design, figures as JSON
    python eval/retrieval.py --compare       # every design tried, one JSON line each
    python eval/retrieval.py --calibrate     # fit the grounded thresholds for the model

The bank is the starter bank plus, when it is beside the checkout, ../shared/bank. Queries whose
relevant entries are not in the bank (no ../shared) are skipped and counted as such.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.ingest import STARTER_DIR, ingest  # noqa: E402
from knowledge.store import Store  # noqa: E402
from retriever.decision import CALIBRATION_FILE, Signals, Thresholds  # noqa: E402
from retriever.embed import DEFAULT_MODEL, open_embedder  # noqa: E402
from retriever.search import Retriever  # noqa: E402

SET = Path(__file__).with_name("retrieval_set.jsonl")
SHARED = ROOT.parent / "shared" / "bank"


@dataclass(frozen=True)
class Item:
    query: str
    relevant: frozenset[str]
    tags: frozenset[str]


def load_items() -> list[Item]:
    items = []
    for line in SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            items.append(Item(raw["query"], frozenset(raw["relevant"]), frozenset(raw["tags"])))
    return items


def build_bank(data_dir: Path) -> Store:
    store = Store(data_dir)
    paths = [STARTER_DIR] + ([SHARED] if SHARED.is_dir() else [])
    ingest(store, paths, max_bytes=50_000_000)
    return store


def evaluate(retriever: Retriever, items: list[Item], known: set[str]) -> dict:
    in_bank = [i for i in items if "offtopic" not in i.tags and i.relevant & known]
    skipped = sum(1 for i in items if "offtopic" not in i.tags and not i.relevant & known)
    off = [i for i in items if "offtopic" in i.tags]
    hit1 = hit5 = rr = 0.0
    cross = [0, 0]
    typo = [0, 0]
    grounded_in = grounded_off = related_in = refused_in = answered_off = 0
    misses = []
    signals: list[tuple[Signals, bool]] = []
    for item in in_bank:
        result = retriever.search(item.query, 10)
        ids = [h.id for h in result.hits]
        rank = next((n for n, eid in enumerate(ids, 1) if eid in item.relevant), None)
        hit1 += rank == 1
        hit5 += rank is not None and rank <= 5
        rr += 1 / rank if rank else 0.0
        if "cross" in item.tags:
            cross[0] += rank is not None and rank <= 5
            cross[1] += 1
        if "typo" in item.tags:
            typo[0] += rank is not None and rank <= 5
            typo[1] += 1
        grounded_in += result.grounded
        related_in += result.coverage == "related"
        refused_in += result.coverage == "off-topic"
        signals.append((result.signals, True))
        if rank is None or rank > 5 or not result.grounded:
            misses.append({"query": item.query, "rank": rank, "coverage": result.coverage})
    for item in off:
        result = retriever.search(item.query, 10)
        grounded_off += result.grounded
        answered_off += result.coverage != "off-topic"
        signals.append((result.signals, False))
        if result.coverage != "off-topic":
            misses.append({"query": item.query, "offtopic_answered_as": result.coverage})
    n = len(in_bank) or 1
    return {
        "queries": len(in_bank),
        "skipped_not_in_bank": skipped,
        "hit@1": round(hit1 / n, 4),
        "hit@5": round(hit5 / n, 4),
        "mrr": round(rr / n, 4),
        "cross_lingual_hit@5": round(cross[0] / max(cross[1], 1), 4),
        "cross_lingual_queries": cross[1],
        "typo_hit@5": round(typo[0] / max(typo[1], 1), 4),
        "abstention": {
            "in_bank_grounded": grounded_in,
            "in_bank_abstained": len(in_bank) - grounded_in,
            "offtopic_abstained": len(off) - grounded_off,
            "offtopic_grounded": grounded_off,
            # The three-way decision the tutor answers by: a related question is answered from
            # its closest entries (cited, said to be only near), a refused one not at all.
            "in_bank_related": related_in,
            "in_bank_refused": refused_in,
            "offtopic_answered": answered_off,
        },
        "misses": misses,
        "_signals": signals,
    }


def _accuracy(signals, thresholds: Thresholds) -> tuple[int, float]:
    """Correct decisions, and the smallest margin by which any decision was made."""
    correct, margin = 0, 1.0
    for s, positive in signals:
        m = thresholds.margin(s)
        correct += (m >= 0) == positive
        margin = min(margin, abs(m))
    return correct, margin


def fit(signals, max_blindness: float = 0.5) -> Thresholds:
    """Thresholds with the most correct decisions, then the widest margin (searched over the
    midpoints between observed values, vectorised over the coverage threshold)."""
    dense = np.array([s.dense_top for s, _ in signals])
    blind = np.array([s.blindness > max_blindness for s, _ in signals])
    cov = np.array([s.coverage if s.domain_terms else -1.0 for s, _ in signals])
    has_tokens = np.array([s.content_tokens > 0 for s, _ in signals])
    positive = np.array([p for _, p in signals])

    def midpoints(values):
        v = np.unique(np.round(values[values > 0], 4))
        return np.concatenate([(v[:-1] + v[1:]) / 2, [1.01]])

    cands_d = midpoints(dense[~blind])
    cands_b = midpoints(dense[blind]) if blind.any() else np.array([1.01])
    cands_c = midpoints(cov)
    lexical = cov[None, :] - cands_c[:, None]  # (C, N)
    best_key, best = None, None
    for d in cands_d:
        for b in cands_b:
            bar = np.where(blind, b, d)
            dense_m = np.where(dense > 0, dense - bar, -1.0)
            m = np.maximum(dense_m[None, :], lexical)
            m = np.where(has_tokens[None, :], m, -1.0)
            correct = ((m >= 0) == positive[None, :]).sum(axis=1)
            margin = np.abs(m).min(axis=1)
            i = int(np.lexsort((margin, correct))[-1])
            key = (int(correct[i]), float(margin[i]))
            if best_key is None or key > best_key:
                best_key = key
                best = Thresholds(
                    dense=round(float(d), 4),
                    dense_blind=round(float(b), 4),
                    coverage=round(float(cands_c[i]), 4),
                    max_blindness=max_blindness,
                )
    assert best is not None
    return best


def cross_validate(signals, folds: int = 5, seed: int = 7) -> float:
    """Abstention accuracy with thresholds fitted on the other folds (an honest estimate)."""
    shuffled = list(signals)
    random.Random(seed).shuffle(shuffled)
    correct = 0
    for f in range(folds):
        test = shuffled[f::folds]
        train = [s for n, s in enumerate(shuffled) if n % folds != f]
        correct += _accuracy(test, fit(train))[0]
    return round(correct / len(shuffled), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--compare", action="store_true", help="run every design variant")
    parser.add_argument("--calibrate", action="store_true", help="fit the grounded thresholds")
    parser.add_argument(
        "--write", action="store_true", help="with --calibrate: save them to calibration.json"
    )
    parser.add_argument("--misses", action="store_true", help="list the misses")
    parser.add_argument(
        "--fusion",
        default="scores",
        choices=["dense_only", "lexical_only", "rrf", "weighted_rrf", "scores"],
    )
    parser.add_argument(
        "--dense-text",
        default=None,
        choices=["question", "title_question", "full"],
        help="what each entry is embedded from (default: the model's calibrated choice)",
    )
    parser.add_argument("--no-expand", action="store_true", help="no glossary query expansion")
    args = parser.parse_args()

    items = load_items()
    embedder = open_embedder(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        store = build_bank(Path(tmp) / "data")
        known = {e.id for e in store.entries()}
        variants = [(args.fusion, args.dense_text, not args.no_expand)]
        if args.compare:
            variants = [
                (fusion, text, expand)
                for fusion in ("dense_only", "lexical_only", "rrf", "weighted_rrf", "scores")
                for text in ("question", "title_question", "full")
                for expand in (True, False)
            ]
        for fusion, text, expand in variants:
            retriever = Retriever(
                store,
                Path(tmp) / f"index-{text}",
                embedder,
                fusion=fusion,
                dense_text=text,
                expand_query=expand,
            )
            retriever.sync()
            report = evaluate(retriever, items, known)
            signals = report.pop("_signals")
            if not args.misses:
                report.pop("misses")
            report["design"] = {"fusion": fusion, "dense_text": text, "expand_query": expand}
            report["model"] = args.model
            report["bank_entries"] = len(known)
            report["abstention_cv_accuracy"] = cross_validate(signals)
            if args.calibrate:
                fitted = fit(signals)
                report["calibrated"] = asdict(fitted)
                correct, margin = _accuracy(signals, fitted)
                report["calibrated_accuracy"] = round(correct / len(signals), 4)
                report["calibrated_margin"] = round(margin, 4)
                if args.write:
                    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
                    fitted_keys = ("dense", "dense_blind", "coverage", "max_blindness")
                    fitted_now = {k: report["calibrated"][k] for k in fitted_keys}
                    table[args.model] = {**table.get(args.model, {}), **fitted_now}
                    CALIBRATION_FILE.write_text(
                        json.dumps(table, indent=2) + "\n", encoding="utf-8"
                    )
            print(json.dumps(report, ensure_ascii=False))
            retriever.close()
        store.close()


if __name__ == "__main__":
    main()
