"""What the bank is missing, from the questions it could not answer: which questions count (inside
the bank's field, not cooking or the weather), how they group into gaps by meaning across
languages, what each gap is called, and the drafted bank entry an admin can edit and add.

Nothing here does I/O: the caller gives the recorded questions (`knowledge.gaps`), their vectors
(`Retriever.meaning`) and, for a draft, the language model's text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from bot.llm.base import Message
from bot.texts.prompts import DRAFT_PROMPT
from knowledge.entry import Entry
from knowledge.gaps import Asked, Closest
from knowledge.parse import parse
from retriever.text import everyday_english, latin_words, names, stop_words

if TYPE_CHECKING:
    from retriever.decision import SearchResult
    from retriever.glossary import Glossary
    from retriever.techniques import Techniques

# Two questions are one gap when their vectors by meaning (language taken away) are at least
# this close on average over the two groups (average linkage). Chosen on the dev parts of
# eval/gaps.py (docs/gaps.md).
SAME_GAP = 0.2
# Two questions that name one technique (or one term no entry uses) are taken this much
# closer; two that each name some but none in common, this much further apart.
NAME_TOGETHER = 0.3
NAME_APART = 0.05
# A question naming a technique is the field's from this margin over the everyday questions
# (`in_field`): every one of the dev parts' is above 0 (lowest 0.005), everyday questions that
# use a technique's name (a diet "overfitting") below it (docs/gaps.md).
NAMED_BAR = 0.0
# A question naming and describing no technique takes the family of the question of
# retriever/described.tsv nearest to it by meaning, when at least this near, and this much nearer
# than any other family's (`meant`). Chosen on the dev parts (docs/gaps.md): the same figures
# from 0.35 to 0.45; no far question of theirs comes nearer than 0.40.
DESCRIBED_BAR = 0.45
DESCRIBED_APART = 0.05
# Failing that, the family among those the other recorded questions name (the techniques asked
# about in the workspace, a dozen where there are 444 in all) its meaning is nearest, when at
# least this near, as clear of the other families named there, and among its `AMONG_RANK`
# nearest families of all. Chosen on the dev parts (docs/gaps.md): 0.2 and 0.25 gave one asker
# count more and one pure gap fewer, 0.35 three asker counts fewer.
AMONG_BAR = 0.3
AMONG_RANK = 3
MAX_QUESTIONS = 1000  # the most recent questions grouped at once (grouping is quadratic)
EXAMPLES = 3
CLOSEST = 3


def in_field(
    result: SearchResult,
    margin: float | None = None,
    bar: float | None = None,
    technique: bool = False,
) -> bool:
    """Whether a question the bank does not cover is still about the bank's field.

    With a measured bar for the embedder (`Retriever.field_bar`): the question is nearer the
    bank's own questions than any everyday one by at least `bar` (`Retriever.field`), so a field
    word in its everyday sense ("what temperature for cookies", 蒸馏白酒) does not count, even
    where the retriever found entries near it. A question naming or describing a technique of
    the field (`technique`: retriever/techniques.tsv, FedAvg, 联邦学习) needs only to be nearer
    the bank than the everyday questions at all (`NAMED_BAR`): a short one the embedder finds
    about as near the kitchen still counts, an everyday one using a technique's name (a diet
    that "overfits") does not. Without a bar: a technique named, the retriever found it
    related, or it names a term of the field."""
    if margin is not None and bar is not None:
        return margin >= (NAMED_BAR if technique else bar)
    if technique:
        return True
    return result.coverage == "related" or result.signals.domain_terms >= 1


def closest_of(result: SearchResult, limit: int = CLOSEST) -> list[Closest]:
    """The closest entries of a search, as recorded with a question."""
    return [Closest(h.id, h.title, h.score) for h in result.hits[:limit]]


@dataclass(frozen=True)
class Gap:
    """Questions that ask about one thing the bank does not answer."""

    label: str
    asked: tuple[Asked, ...]  # oldest first
    # Labelled by a technique no entry of the bank is about: missing outright, so listed
    # before a gap of as many askers on something the bank has an entry near.
    missing: bool = False
    # The techniques (`retriever/techniques.py` keys) most of its questions name: what an entry
    # added for it is about (`bot/core/gaps.py`'s filled rule).
    about: tuple[str, ...] = ()

    @property
    def askers(self) -> int:
        """Distinct people who asked."""
        return len({a.asker for a in self.asked})

    @property
    def first_seen(self) -> datetime:
        return self.asked[0].asked_at

    @property
    def last_seen(self) -> datetime:
        return self.asked[-1].asked_at

    @property
    def language(self) -> str:
        """ "zh" when most of its questions are in Chinese, else "" (the reader's language)."""
        return "zh" if sum(a.lang == "zh" for a in self.asked) * 2 > len(self.asked) else ""

    def examples(self, n: int = EXAMPLES) -> list[str]:
        """A few distinct questions, the most recent first."""
        seen: list[str] = []
        for asked in reversed(self.asked):
            text = " ".join(asked.question.split())
            if text.lower() not in (s.lower() for s in seen):
                seen.append(text)
            if len(seen) == n:
                break
        return seen

    def closest(self, n: int = CLOSEST) -> list[Closest]:
        """The bank's entries nearest this gap: those most often among its questions' closest,
        with their best score."""
        count: Counter[str] = Counter()
        best: dict[str, Closest] = {}
        for asked in self.asked:
            for near in asked.closest:
                count[near.id] += 1
                if near.id not in best or near.score > best[near.id].score:
                    best[near.id] = near
        ranked = sorted(best, key=lambda i: (-count[i], -best[i].score))
        return [best[i] for i in ranked[:n]]

    def as_json(self) -> dict[str, object]:
        """One gap of `tutor gaps --json`."""
        return {
            "label": self.label,
            "workspace": self.asked[0].workspace,
            "askers": self.askers,
            "asked": len(self.asked),
            "questions": self.examples(),
            "closest": [
                {"id": c.id, "title": c.title, "score": round(c.score, 4)} for c in self.closest()
            ],
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
        }


def known_terms(texts: Sequence[str]) -> frozenset[str]:
    """Every word and name (by `_key`) the bank's texts use."""
    known: set[str] = set()
    for text in texts:
        known.update(latin_words(text))
        known.update(_key(name) for name in names(text))
    return frozenset(known)


def novel_terms(question: str, known: frozenset[str]) -> frozenset[str]:
    """The terms of art a question writes in Latin letters that no bank entry uses (TransE,
    grokking, WGAN): names, and words that are neither everyday English nor stop words."""
    stop = stop_words("en")
    found = {_key(name) for name in names(question)}
    found.update(
        w
        for w in latin_words(question)
        if len(w) >= 3 and not w.isdigit() and w not in stop and not everyday_english(w)
    )
    return frozenset(t for t in found if t and t not in known)


def named_things(
    question: str, known: frozenset[str] | None, techniques: Techniques | None
) -> frozenset[str]:
    """What a question names that says which technique it asks about: the techniques of the
    field it names (`retriever/techniques.py`, by any alias or language: YaRN and 长度外推 are
    one) and the terms no bank entry uses (`novel_terms`)."""
    found: set[str] = set()
    if techniques is not None:
        found.update(f"technique:{key}" for key in techniques.find(question))
    if known is not None:
        found.update(novel_terms(question, known))
    return frozenset(found)


def group(
    vectors: np.ndarray,
    threshold: float = SAME_GAP,
    terms: Sequence[frozenset[str]] | None = None,
) -> list[list[int]]:
    """Average-linkage groups of unit vectors: two groups merge while the mean similarity
    between their members is at least `threshold`. With what each question names
    (`named_things`), two questions naming one thing are taken `NAME_TOGETHER` closer (FedAvg
    and 联邦学习), and two that each name some but none in common `NAME_APART` further apart
    (TransE and grokking). Groups in order of their first member."""
    n = len(vectors)
    if n == 0:
        return []
    sims = np.asarray(vectors @ vectors.T, dtype=np.float64)
    if terms is not None:
        # Which question names which thing, as a matrix: shared things are its product.
        vocabulary = {t: k for k, t in enumerate(sorted(set().union(*terms)))}
        naming = np.zeros((n, len(vocabulary)), dtype=np.float64)
        for i, named in enumerate(terms):
            naming[i, [vocabulary[t] for t in named]] = 1.0
        some = naming.any(axis=1)
        shared = (naming @ naming.T) > 0
        sims += NAME_TOGETHER * shared
        sims -= NAME_APART * (np.outer(some, some) & ~shared)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    # Sum of similarities between groups, and the mean, -inf on the diagonal and for merged rows.
    total = sims.copy()
    mean = sims.copy()
    np.fill_diagonal(mean, -np.inf)
    while True:
        flat = int(np.argmax(mean))
        a, b = divmod(flat, n)
        if mean[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        members[a].extend(members.pop(b))
        total[a, :] += total[b, :]
        total[:, a] = total[a, :]
        size = np.array([len(members.get(j, ())) for j in range(n)], dtype=np.float64)
        # Mean similarity to each live group; merged-away rows (size 0) and itself stay -inf.
        row = np.full(n, -np.inf)
        live = size > 0
        row[live] = total[a, live] / (len(members[a]) * size[live])
        row[a] = -np.inf
        mean[a, :] = row
        mean[:, a] = row
        mean[b, :] = -np.inf
        mean[:, b] = -np.inf
    return sorted((sorted(m) for m in members.values()), key=lambda m: m[0])


def _terms(question: str, glossary: Glossary | None) -> dict[str, str]:
    """The terms of art a question names, by one spelling (`_key`): acronyms and compounds in
    Latin letters as written (LoRA), then the field's terms (a Chinese term by its English
    name)."""
    stop = stop_words("en")
    found: dict[str, str] = {}
    for name in names(question):
        if name.lower() not in stop and not everyday_english(name.lower()):
            found.setdefault(_key(name), name)
    if glossary is not None:
        for term in [*glossary.english_matches(question), *glossary.to_english(question)]:
            found.setdefault(_key(term), term)
    return found


def _key(term: str) -> str:
    """One spelling of a term: pre-training, pretraining and Pre Training are one."""
    return re.sub(r"[\s\-_]+", "", term.lower())


def label_of(
    questions: Sequence[str],
    glossary: Glossary | None = None,
    limit: int = 60,
    known: frozenset[str] | None = None,
    techniques: Techniques | None = None,
    in_bank: frozenset[str] = frozenset(),
) -> str:
    """A short name for a group of questions: the technique most of them name, as the field
    names it (`techniques`: "Weight initialization" for Xavier, Kaiming and 权重初始化; one no
    entry is about, not in `in_bank`, before one an entry is about), else the term of art most
    of them name (two when they tie; with `known`, a term the bank does not use, `novel_terms`,
    before one it does), else its shortest question."""
    if techniques is not None:
        technique = _technique_label(questions, techniques, in_bank)
        if technique:
            return technique
    novel: Counter[str] = Counter()
    count: Counter[str] = Counter()
    shown: dict[str, str] = {}
    named: set[str] = set()
    texts: dict[str, set[str]] = {}  # the different questions writing each novel term
    for question in questions:
        if known is not None:
            written = {_key(name): name for name in names(question)}
            for key in novel_terms(question, known):
                novel[key] += 1
                texts.setdefault(key, set()).add(" ".join(question.lower().split()))
                named.update({key} & written.keys())
                shown.setdefault(key, written.get(key, key))
        for key, term in _terms(question, glossary).items():
            count[key] += 1
            # As a question wrote it (LoRA), over the glossary's lower case (lora).
            if key not in shown or (term != term.lower() and shown[key] == shown[key].lower()):
                shown[key] = term
    # A novel plain word (grokking) counts where two different questions write it: one
    # question's unusual word (a typo, "rescaled") is no name for a gap.
    novel = Counter({k: n for k, n in novel.items() if k in named or len(texts[k]) > 1})
    shortest = min((" ".join(q.split()) for q in questions), key=len, default="")
    counted = count | novel  # a name is in both: counted once
    ranked = sorted(
        counted,
        key=lambda k: (-counted[k], -(k in novel), -(shown[k] in names(shown[k])), -len(k)),
    )
    if ranked and (counted[ranked[0]] >= 2 or len(questions) == 1):
        top = [ranked[0]]
        if len(ranked) > 1 and counted[ranked[1]] == counted[ranked[0]]:
            top.append(ranked[1])
        return " / ".join(shown[k] for k in top)
    return shortest if len(shortest) <= limit else shortest[: limit - 1] + "…"


def _technique_label(
    questions: Sequence[str], techniques: Techniques, in_bank: frozenset[str]
) -> str:
    """The technique most of the questions name (at least half, two of them at least), or
    "" for none: one no entry is about first, and two named alike, neither first, both."""
    return " / ".join(techniques.name(k) for k in technique_of(questions, techniques, in_bank))


def technique_of(
    questions: Sequence[str], techniques: Techniques, in_bank: frozenset[str]
) -> list[str]:
    """The keys of `_technique_label`'s techniques (none, one, or two that tie)."""
    named: Counter[str] = Counter()
    for question in questions:
        named.update(techniques.find(question))
    ranked = sorted(named, key=lambda k: (-named[k], k in in_bank))
    if not ranked:
        return []
    first = ranked[0]
    count = named[first]
    if count * 2 < len(questions) or (count * 2 == len(questions) and count < 2):
        return []
    return [k for k in ranked[:2] if (named[k], k in in_bank) == (count, first in in_bank)]


def meant(
    questions: Sequence[str],
    described: tuple[Sequence[str], np.ndarray],
    techniques: Techniques,
) -> dict[str, str]:
    """For the questions that name and describe no technique, the family their meaning is
    nearest (`described`: `Meaning.described_scores`, the families and each question's cosine to
    each), where it is near enough and clear of the others; failing that, the nearest of the
    families the other questions name, where it is near enough, clear of the others named and
    among the question's nearest of all."""
    families, scores = described
    named = [techniques.find(q) for q in questions]
    out: dict[str, str] = {}
    if len(families) < 2:
        return out
    for i, question in enumerate(questions):
        if named[i]:
            continue
        best, second = np.argsort(-scores[i])[:2]
        if (
            scores[i, best] >= DESCRIBED_BAR
            and scores[i, best] - scores[i, second] >= DESCRIBED_APART
        ):
            out[question] = families[best]
    asked = {key for keys in named for key in keys} | set(out.values())
    columns = [j for j, family in enumerate(families) if family in asked]
    for i, question in enumerate(questions):
        if named[i] or question in out or not columns:
            continue
        near = scores[i, columns]
        ranked = np.argsort(-near)
        cosine = near[ranked[0]]
        margin = cosine - (near[ranked[1]] if len(ranked) > 1 else -1.0)
        rank = int((scores[i] > cosine).sum())  # families of all nearer than it
        if cosine >= AMONG_BAR and margin >= DESCRIBED_APART and rank < AMONG_RANK:
            out[question] = families[columns[ranked[0]]]
    return out


def gaps_of(
    asked: Sequence[Asked],
    vectors: np.ndarray,
    glossary: Glossary | None = None,
    threshold: float = SAME_GAP,
    known: frozenset[str] | None = None,
    techniques: Techniques | None = None,
    in_bank: frozenset[str] = frozenset(),
) -> list[Gap]:
    """The gaps among recorded questions (their vectors by meaning in the same order), the
    most askers first (then the most recent). With the bank's `known_terms`, the field's
    techniques and those the bank's entries are about (`in_bank`), what the questions name
    helps group and label them (`group`, `label_of`)."""
    out = []
    terms = None
    if known is not None or techniques is not None:
        terms = [named_things(a.question, known, techniques) for a in asked]
    for members in group(vectors, threshold, terms):
        chosen = tuple(sorted((asked[i] for i in members), key=lambda a: (a.asked_at, a.id)))
        questions = [a.question for a in chosen]
        label = label_of(questions, glossary, known=known, techniques=techniques, in_bank=in_bank)
        about = technique_of(questions, techniques, in_bank) if techniques is not None else []
        missing = any(k not in in_bank for k in about)
        out.append(Gap(label, chosen, missing, tuple(about)))
    return sorted(out, key=order)


def order(gap: Gap) -> tuple:
    """Gaps in the order /gaps lists them: the most askers first; of as many, a technique the
    bank has no entry about first; then the most questions, then the most recent."""
    return (-gap.askers, not gap.missing, -len(gap.asked), -gap.last_seen.timestamp())


# -- a drafted entry -----------------------------------------------------------------------------

DRAFT_MARK = "<!-- DRAFT for review -->"
_FIELD = re.compile(r"^\s*\**(title|question|answer|explanation)\**\s*[:：]\**\s*(.*)$", re.I)
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
_POINT = re.compile(r"^\s*[-*•]\s+(?:\*\*(.+?)[:：]?\*\*[:：]?\s*|([^:：]{2,40})[:：]\s+)?(.+)$")


@dataclass(frozen=True)
class Draft:
    """A drafted bank entry: the Markdown to edit and add, and whether a model wrote it."""

    markdown: str
    by_model: bool
    file_name: str


def _one_line(text: str, limit: int = 600) -> str:
    text = " ".join(text.replace("#", "").replace("`", "'").split())
    return text[:limit].strip()


@dataclass(frozen=True)
class Written:
    """What a model wrote of a draft; a field it left out is empty."""

    title: str = ""
    question: str = ""
    answer: str = ""
    explanation: str = ""
    points: list[tuple[str, str]] = field(default_factory=list)  # (name, text)


def read_model_draft(text: str) -> Written:
    """The fields a model wrote in the draft's plain layout (Title:, Question:, Answer:, one
    "- Name: text" line per key point, Explanation:); what it left out is empty."""
    fields: dict[str, str] = {}
    points: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        field = _FIELD.match(line)
        if field:
            current = field.group(1).lower()
            if field.group(2).strip():
                fields[current] = _one_line(field.group(2))
            continue
        point = _POINT.match(line)
        if point and point.group(3).strip():
            name = (point.group(1) or point.group(2) or "").strip()
            points.append((_one_line(name, 40), _one_line(point.group(3))))
            current = "points"
        elif line.strip() and current in ("question", "answer", "explanation"):
            fields[current] = _one_line(f"{fields.get(current, '')} {line}")
    return Written(**fields, points=points)


def draft_messages(
    label: str, questions: Sequence[str], near: Sequence[Entry], lang: str
) -> list[Message]:
    """The chat asking the model for a drafted entry on a gap."""

    def data(text: str, tag: str) -> str:
        return text.replace(f"</{tag}>", f"</ {tag}>")

    asked = "\n".join(f"- {data(q[:300], 'questions')}" for q in questions)
    closest = "\n".join(
        f"- {data(e.title, 'closest')}: {data(e.question[:200], 'closest')}" for e in near
    )
    language = "Chinese" if lang == "zh" else "English"
    user = (
        f"Topic: {data(label, 'questions')}\n<questions>\n{asked}\n</questions>\n"
        f"<closest>\n{closest or '-'}\n</closest>\n"
        f"Write the entry in {language}, in the layout given (the labels Title, Question, Answer "
        "and Explanation stay in English)."
    )
    return [{"role": "system", "content": DRAFT_PROMPT}, {"role": "user", "content": user}]


def draft_entry(
    gap: Gap,
    near: Sequence[Entry],
    lang: str,
    model_text: str = "",
    today: str = "",
) -> Draft:
    """The gap as a bank document of one entry, in the bank's own Markdown, marked as a draft:
    the model's fields where it wrote them and they read, else a skeleton (the gap's questions
    and what the closest entries already say). Always a document `tutor ingest` reads as one
    entry with key points."""
    zh = lang == "zh"
    wrote = read_model_draft(model_text) if model_text else Written()
    question = wrote.question or _one_line(gap.examples(1)[0] if gap.asked else "")
    title = wrote.title or _one_line(gap.label, 80)
    points = [(n, t) for n, t in wrote.points if t][:6]
    answer = wrote.answer
    explanation = wrote.explanation
    if answer and not points:  # a model that wrote an answer but no points: its sentences
        points = [("", sentence) for sentence in _SENTENCE.split(answer) if sentence.strip()][:5]
    by_model = bool(points and answer)
    if not by_model:
        todo = "待补充" if zh else "To write"
        answer = (
            f"（{todo}：回答上面的问题。）"
            if zh
            else f"({todo}: the answer to the question above.)"
        )
        points = [(todo, _one_line(q)) for q in gap.examples(EXAMPLES)]
        explanation = ""
    asked_by = len(gap.asked)
    lines = [
        DRAFT_MARK,
        f"<!-- {_comment(gap, near, by_model, bool(model_text), asked_by, today)} -->",
        "",
        f"# {'草稿' if zh else 'Draft'}: {title}",
        "",
        f"## {'面试题' if zh else 'Interview questions'}",
        "",
        f"### 1. {title}",
        "",
        f"**{'问题' if zh else 'Question'}:** {question}",
        "",
        f"**{'答案' if zh else 'Answer'}:** {answer}",
        "",
    ]
    for name, text in points:
        lines.append(f"- **{name}:** {text}" if name else f"- {text}")
    if explanation:
        lines += ["", f"**{'解析' if zh else 'Explanation'}:** {explanation}"]
    markdown = "\n".join(lines).rstrip() + "\n"
    slug = re.sub(r"[^a-z0-9]+", "-", gap.label.lower()).strip("-")[:40] or "gap"
    draft = Draft(markdown, by_model, f"draft-{slug}.md")
    if by_model and not _reads_as_one_entry(draft):
        return draft_entry(gap, near, lang, "", today)
    return draft


def _comment(
    gap: Gap, near: Sequence[Entry], by_model: bool, asked_model: bool, asked: int, today: str
) -> str:
    near_text = "; ".join(f"{e.title} [{e.id}]" for e in near) or "-"
    questions = " | ".join(q.replace("--", "-") for q in gap.examples(EXAMPLES))
    if by_model:
        who = "Written by the language model"
    elif asked_model:
        who = "A skeleton (the language model's reply had no usable answer)"
    else:
        who = "A skeleton (no language model)"
    when = f" on {today}" if today else ""
    return (
        f"{who}{when}, from {asked} question(s) of {gap.askers} learner(s) the bank "
        f"could not answer: {questions}. Closest entries already in the bank: {near_text}. "
        "Check every line, then add the file with /bank add."
    ).replace("--", "-")


def _reads_as_one_entry(draft: Draft) -> bool:
    try:
        entries = parse(draft.markdown, draft.file_name).entries
    except Exception:  # a draft the parser refuses is replaced by the skeleton
        return False
    return len(entries) == 1 and bool(entries[0].key_points)
