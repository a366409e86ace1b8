"""The gap rules without a bank: average-linkage groups, a gap's label, and the drafted entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from bot.tutoring.gaps import Gap, draft_entry, group, label_of
from knowledge.gaps import Asked, Closest
from knowledge.parse import parse

T0 = datetime(2026, 12, 7, tzinfo=UTC)


def asked(n: int, question: str, user: str = "u") -> Asked:
    near = (Closest("ab12", "Fine-tuning", 0.8),)
    return Asked(n, "slack", "W", "C", user, question, "en", "related", True, near,
                 T0 + timedelta(minutes=n))  # fmt: skip


def test_groups_merge_only_while_their_mean_similarity_reaches_the_threshold():
    v = np.array([[1.0, 0.0], [0.96, 0.28], [0.0, 1.0]])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert group(v, 0.9) == [[0, 1], [2]]
    assert group(v, 0.1) == [[0, 1, 2]]  # mean over both members of the pair, 0.14 >= 0.1
    assert group(v, 0.99) == [[0], [1], [2]]
    assert group(np.zeros((0, 2))) == []


def test_a_label_is_the_name_most_questions_use_else_the_shortest_question():
    assert label_of(["What is LoRA?", "LoRA 的秩怎么选？", "Why is LoRA cheap?"]) == "LoRA"
    assert label_of(["How do I boil rice", "rice?"]) == "rice?"


def test_a_model_answer_without_key_points_gives_points_from_its_sentences():
    gap = Gap("BPE", (asked(1, "How does BPE build a vocabulary?"),))
    text = (
        "Title: Byte-pair encoding\nAnswer: It merges the most frequent pair. It stops at a size."
    )
    draft = draft_entry(gap, [], "en", text)
    assert draft.by_model and "Written by the language model" in draft.markdown
    (entry,) = parse(draft.markdown, draft.file_name).entries
    assert entry.key_points == ("It merges the most frequent pair.", "It stops at a size.")


def test_a_reply_without_an_answer_is_a_skeleton_that_says_why():
    gap = Gap("BPE", (asked(1, "How does BPE build a vocabulary?"), asked(2, "BPE?", "v")))
    draft = draft_entry(gap, [], "zh", "I cannot help with that.")
    assert not draft.by_model and "reply had no usable answer" in draft.markdown
    (entry,) = parse(draft.markdown, draft.file_name).entries
    assert len(entry.key_points) == 2 and gap.askers == 2
