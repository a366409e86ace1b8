"""The rubric judge: a language model classifies each key point of an answer (covered, partly,
missing) and quotes the answer's claims that contradict the reference; code turns that verdict
into a score, caps it when something is contradicted, and blends it with the offline score by the
judge's measured reliability (`judge_calibration.json`, written by `eval/judge.py` on the dev part).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.llm.base import Message
from bot.texts.prompts import (
    JUDGE_PROMPT,
    JUDGE_PROMPT_ZH,
    LABEL_PROMPT,
    LABEL_PROMPT_ZH,
    LABEL_QUESTION,
    LABEL_READ,
    LABEL_READ_ZH,
)
from knowledge.cjk import CJK_RANGE
from knowledge.entry import Entry

Status = Literal["covered", "partly", "missing"]


def as_status(label: str) -> Status:
    """A judge's label for a key point as its status: covered and partly as they are, anything
    else (missing, wrong, contradicted) missing."""
    return "covered" if label == "covered" else "partly" if label == "partly" else "missing"


# How the judge answers: a JSON verdict it writes (any backend), or labels read off its logits
# (a model in this process: `classify`).
Route = Literal["json", "labels"]
CREDIT: dict[str, float] = {"covered": 1.0, "partly": 0.5, "missing": 0.0}
# Below 40 is FSRS Again: an answer that asserts something false is reviewed again soon.
CONTRADICTION_CAP = 35
# Nobody restates every key point: as offline, 80% of the credit is full marks.
FULL_MARKS = 0.8
# A judge nobody has measured is trusted less than the offline grader.
DEFAULT_WEIGHT = 0.3
MAX_VERDICT_TOKENS = 160
CALIBRATION = Path(__file__).with_name("judge_calibration.json")
MAX_QUOTE_CHARS = 120

_STATUS = {
    "covered": "covered",
    "correct": "covered",
    "yes": "covered",
    "full": "covered",
    "fully": "covered",
    "覆盖": "covered",
    "已覆盖": "covered",
    "涵盖": "covered",
    "正确": "covered",
    "partly": "partly",
    "partial": "partly",
    "partially": "partly",
    "部分": "partly",
    "部分覆盖": "partly",
    "missing": "missing",
    "missed": "missing",
    "no": "missing",
    "none": "missing",
    "absent": "missing",
    "缺失": "missing",
    "未覆盖": "missing",
    "没有": "missing",
    "遗漏": "missing",
    "contradicted": "contradicted",
    "contradicts": "contradicted",
    "wrong": "contradicted",
    "incorrect": "contradicted",
    "false": "contradicted",
    "矛盾": "contradicted",
    "错误": "contradicted",
}
_POINTS_KEYS = ("points", "key_points", "keypoints", "要点", "关键点", "要点覆盖")
_CONTRA_KEYS = ("contradictions", "contradiction", "false_claims", "errors", "矛盾", "错误")
_REF_KEYS = ("point", "key_point", "index", "id", "n", "number", "要点", "编号", "序号")
_STATUS_KEYS = ("status", "label", "verdict", "coverage", "状态", "标签", "覆盖")
_QUOTE_KEYS = ("quote", "claim", "text", "引用", "原文", "说法")
_NOTHING = {"", "none", "n/a", "na", "null", "nothing", "无", "没有", "..."}
_FENCE = re.compile(r"```[a-zA-Z]*")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WORD = re.compile(f"[a-z0-9]+|[{CJK_RANGE}]")


@dataclass(frozen=True)
class Verdict:
    """The judge's classification: a status per key point (in order), the key points an answer
    contradicts (0-based), and its contradicting claims quoted."""

    points: tuple[Status, ...]
    contradicted: frozenset[int] = frozenset()
    quotes: tuple[str, ...] = ()
    feedback: str = ""
    # Read off the logits (the label route): per key point P(covered) + P(partly) / 2, so two
    # answers with the same labels are still told apart by how sure the judge was.
    expected: tuple[float, ...] | None = None

    @property
    def contradicts(self) -> bool:
        """Whether the answer asserts something the reference denies."""
        return bool(self.contradicted or self.quotes)

    def credits(self) -> list[float]:
        """Per key point: covered 1, partly 0.5, missing or contradicted 0 (the label route:
        the expected credit under the judge's probabilities)."""
        given = self.expected or tuple(CREDIT[status] for status in self.points)
        return [0.0 if n in self.contradicted else c for n, c in enumerate(given)]

    def covered(self) -> tuple[int, ...]:
        """The key points (0-based) the answer states correctly and in full."""
        return tuple(
            n
            for n, status in enumerate(self.points)
            if status == "covered" and n not in self.contradicted
        )


@dataclass(frozen=True)
class Reliability:
    """How far a judge is trusted: its weight against the offline score, and whether its
    contradictions cap the score."""

    weight: float = DEFAULT_WEIGHT
    cap: bool = True


def verdict_score(verdict: Verdict) -> int:
    """The judge's score 0-100 computed from its verdict; a contradiction caps it."""
    credits = verdict.credits()
    if not credits:
        return 0
    score = round(100 * min(1.0, sum(credits) / len(credits) / FULL_MARKS))
    return min(score, CONTRADICTION_CAP) if verdict.contradicts else score


def blend(judge: int, offline: int, contradicts: bool, reliability: Reliability) -> int:
    """The final score: the judge weighted by its reliability, capped on a contradiction."""
    weight = min(1.0, max(0.0, reliability.weight))
    score = round(weight * judge + (1 - weight) * offline)
    if contradicts and reliability.cap:
        score = min(score, CONTRADICTION_CAP)
    return max(0, min(100, score))


def load_calibration(path: Path = CALIBRATION) -> dict[str, Reliability]:
    """The measured reliability of each judge by model name; empty when there is no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for name, row in (data if isinstance(data, dict) else {}).items():
        if isinstance(row, dict) and isinstance(row.get("weight"), int | float):
            found[name] = Reliability(float(row["weight"]), bool(row.get("cap", True)))
    return found


def reliability_for(
    model: str, calibration: dict[str, Reliability] | None = None, route: Route = "json"
) -> Reliability:
    """A judge's reliability by its model name (or file name) and route, else the
    conservative default."""
    table = load_calibration() if calibration is None else calibration
    wanted = judge_key(model, route)
    if wanted in table:
        return table[wanted]
    return next((r for name, r in table.items() if judge_key(name) == wanted), Reliability())


def judge_key(model: str, route: Route = "json") -> str:
    """The name a judge is calibrated under: a hub name as is, a local path by its last part;
    the label route's figures under the name with `#labels` (the same model judges differently
    when it writes a verdict and when its labels are read off the logits)."""
    name = Path(model).name if model.startswith(("/", ".", "~")) else model
    return f"{name}#labels" if route == "labels" else name


def _tagged(**parts: str) -> str:
    """Each part inside its tag, as data it cannot close: `</tag>` in a part is broken up."""
    return "\n".join(
        f"<{tag}>\n{text.replace(f'</{tag}>', f'</ {tag}>')}\n</{tag}>"
        for tag, text in parts.items()
    )


def judge_messages(entry: Entry, answer: str, points: list[str]) -> list[Message]:
    """The judge's chat, in the reference's language."""
    numbered = "\n".join(f"{n}. {p}" for n, p in enumerate(points, start=1))
    user = _tagged(
        question=entry.question, key_points=numbered, reference=entry.answer, answer=answer
    )
    prompt = JUDGE_PROMPT_ZH if entry.language == "zh" else JUDGE_PROMPT
    return [{"role": "system", "content": prompt}, {"role": "user", "content": user}]


# The label route: each key point is asked about on its own after the chat, and its label is
# the likeliest of these as the first token of the reply.
LABELS = ("covered", "partly", "missing", "wrong")


def label_messages(entry: Entry, answer: str) -> list[Message]:
    """The label judge's chat: the question, reference and answer, read once; the key points
    are then asked about one by one (`label_questions`)."""
    user = _tagged(question=entry.question, reference=entry.answer, answer=answer)
    zh = entry.language == "zh"
    return [
        {"role": "system", "content": LABEL_PROMPT_ZH if zh else LABEL_PROMPT},
        {"role": "user", "content": user},
        {"role": "assistant", "content": LABEL_READ_ZH if zh else LABEL_READ},
    ]


def label_questions(points: list[str]) -> list[str]:
    """One question per key point: how the answer does on it, in one label."""
    return [LABEL_QUESTION.format(n=n, point=p.strip()) for n, p in enumerate(points, start=1)]


def verdict_from_labels(found: list[dict[str, float]]) -> Verdict | None:
    """The verdict from each key point's label probabilities: the likeliest label, the expected
    credit, and a key point whose likeliest label is `wrong` contradicted."""
    if not found:
        return None
    statuses: list[Status] = []
    expected: list[float] = []
    contradicted = set()
    for n, probs in enumerate(found):
        p = {label.strip(): float(v) for label, v in probs.items()}
        total = sum(p.values()) or 1.0
        best = max(p, key=p.__getitem__)
        if best == "wrong":
            contradicted.add(n)
        statuses.append(as_status(best))
        expected.append((p.get("covered", 0.0) + 0.5 * p.get("partly", 0.0)) / total)
    return Verdict(
        points=tuple(statuses),
        contradicted=frozenset(contradicted),
        expected=tuple(expected),
    )


def parse_verdict(text: str, points: list[str], answer: str | None = None) -> Verdict | None:
    """The judge's verdict from its reply (fenced, with chatter, keys in English or Chinese, key
    points by number or text), or None when no key point's status can be read. With `answer`,
    a contradiction counts only with a quote the answer contains."""
    data = _json_object(text)
    if data is None:
        return None
    statuses: dict[int, str] = {}
    try:
        _read_points(data, points, statuses)
    except ValueError:
        return None
    if not statuses:
        return None
    contradicted = {n for n, s in statuses.items() if s == "contradicted"}
    quotes: list[str] = []
    for ref, quote in _contradictions(data, points):
        if answer is not None and not (quote and _grounded(quote, answer)):
            continue  # an invented quote, or the prompt's example copied: no evidence
        if quote:
            quotes.append(quote[:MAX_QUOTE_CHARS])
        if ref is not None:
            contradicted.add(ref)
    status = tuple(as_status(statuses.get(n, "missing")) for n in range(len(points)))
    feedback = data.get("feedback", "")
    return Verdict(
        points=status,
        contradicted=frozenset(contradicted),
        quotes=tuple(quotes),
        feedback=" ".join(feedback.split())[:300] if isinstance(feedback, str) else "",
    )


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in the text that reads as a verdict, repairing what small models
    commonly get wrong (fences, trailing commas, a reply cut short)."""
    text = _TRAILING_COMMA.sub(r"\1", _FENCE.sub("", text))
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        for suffix in ("", "}", "]}", '"]}', '"}]}', "}]}", '"}}'):
            try:
                value, _ = decoder.raw_decode(text[start:] + suffix)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict) and _has(value, _POINTS_KEYS + tuple(CREDIT)):
                return value
            break
    return None


def _has(data: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(_norm(k) in keys for k in data)


def _get(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((v for k, v in data.items() if _norm(k) in keys), None)


def _norm(text: Any) -> str:
    return str(text).strip().strip("\"'.:：。 ").lower().replace(" ", "_")


def _status(value: Any) -> str | None:
    if isinstance(value, dict):
        value = _get(value, _STATUS_KEYS)
    if isinstance(value, bool):
        return "covered" if value else "missing"
    return _STATUS.get(_norm(value).replace("_", " ")) or _STATUS.get(_norm(value))


def _ref(value: Any, points: list[str]) -> int | None:
    """A key point by number (1-based) or by text; ValueError for a number out of range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        n = int(value)
        if not 1 <= n <= len(points):
            raise ValueError(f"key point {n} of {len(points)}")
        return n - 1
    if not isinstance(value, str):
        return None
    wanted = " ".join(value.lower().split())
    if len(wanted) < 2:
        return None
    for n, point in enumerate(points):
        text = " ".join(point.lower().split())
        if wanted == text or (len(wanted) >= 4 and (wanted in text or text in wanted)):
            return n
    return None


def _read_points(data: dict[str, Any], points: list[str], into: dict[int, str]) -> None:
    listed = _get(data, _POINTS_KEYS)
    if isinstance(listed, list):
        for n, item in enumerate(listed):
            if isinstance(item, dict) and _has(item, _REF_KEYS):
                ref = _ref(_get(item, _REF_KEYS), points)
            else:
                ref = n if n < len(points) else None
            status = _status(item)
            if ref is not None and status is not None:
                into[ref] = status
        return
    grouped = listed if isinstance(listed, dict) else data
    for key, value in grouped.items():
        status = _status(key)
        if status is not None and isinstance(value, list):  # {"covered": [1, 3], ...}
            for item in value:
                ref = _ref(item, points)
                if ref is not None:
                    into[ref] = status
        elif grouped is listed:  # {"1": "covered", "<key point>": "missing"}
            ref, status = _ref(key, points), _status(value)
            if ref is not None and status is not None:
                into[ref] = status


def _contradictions(data: dict[str, Any], points: list[str]) -> list[tuple[int | None, str]]:
    listed = _get(data, _CONTRA_KEYS)
    if isinstance(listed, dict):
        listed = [{"point": k, "quote": v} for k, v in listed.items()]
    if not isinstance(listed, list):
        return []
    found = []
    for item in listed:
        try:
            if isinstance(item, dict):
                ref = _ref(_get(item, _REF_KEYS), points)
                quote = _get(item, _QUOTE_KEYS)
            elif isinstance(item, int) and not isinstance(item, bool):
                ref, quote = _ref(item, points), ""
            else:
                ref, quote = None, item
        except ValueError:
            continue
        quote = " ".join(str(quote or "").split())
        if _norm(quote) in _NOTHING:
            quote = ""
        if ref is not None or quote:
            found.append((ref, quote))
    return found


def _grounded(quote: str, answer: str) -> bool:
    """Whether most of a quote's words (or Chinese characters) are in the answer."""
    words = _WORD.findall(quote.lower())
    if not words:
        return False
    present = set(_WORD.findall(answer.lower()))
    return sum(w in present for w in words) / len(words) >= 0.6
