"""The gap rules without a bank: average-linkage groups, a gap's label, and the drafted entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from bot.tutoring.gaps import (
    Gap,
    draft_entry,
    gaps_of,
    group,
    in_field,
    known_terms,
    label_of,
    meant,
    named_things,
    novel_terms,
)
from knowledge.gaps import Asked, Closest
from knowledge.parse import parse
from retriever.decision import SearchHit, SearchResult, Signals
from retriever.techniques import techniques

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


def test_questions_naming_different_unknown_terms_are_kept_apart():
    # Two questions as close as the threshold: one group; each naming its own term no entry
    # uses (TransE, grokking): apart; sharing one, or one naming none: together.
    v = np.array([[1.0, 0.0], [0.2, 0.98]])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert group(v, 0.19) == [[0, 1]]
    transe, grokking = frozenset({"transe"}), frozenset({"grokking"})
    assert group(v, 0.19, [transe, grokking]) == [[0], [1]]
    assert group(v, 0.19, [transe, transe | grokking]) == [[0, 1]]
    assert group(v, 0.19, [transe, frozenset()]) == [[0, 1]]


def test_questions_naming_one_thing_are_taken_closer():
    # Two questions well under the threshold by meaning (FedAvg, 联邦学习): apart, unless
    # they name one technique or one term no entry uses.
    v = np.array([[1.0, 0.0], [0.1, 0.99]])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert group(v, 0.2) == [[0], [1]]
    federated = frozenset({"technique:federated learning"})
    assert group(v, 0.2, [federated, federated | {"fedavg"}]) == [[0, 1]]
    assert group(v, 0.2, [federated, frozenset({"technique:lora"})]) == [[0], [1]]


def test_named_things_are_the_techniques_and_the_terms_no_entry_uses():
    known = known_terms(["LoRA adds a low-rank update to frozen weights during fine-tuning."])
    shipped = techniques()
    asked = "How does FedAvg differ from LoRA?"
    assert named_things(asked, known, shipped) == {
        "technique:federated learning",
        "technique:lora",
        "fedavg",
    }
    assert named_things(asked, None, shipped) == {"technique:federated learning", "technique:lora"}
    assert named_things(asked, known, None) == {"fedavg"}


def test_a_label_is_the_technique_most_questions_name_one_the_bank_lacks_first():
    shipped = techniques()
    init = [
        "Why does Xavier initialization scale by fan-in and fan-out?",
        "Kaiming 初始化适合什么激活函数？",
        "为什么权重初始化不能全为 0？",
    ]
    assert label_of(init, techniques=shipped) == "Weight initialization"
    both = ["How does label smoothing change cross-entropy?", "标签平滑和交叉熵是什么关系？"]
    assert label_of(both, techniques=shipped) == "Label smoothing / Cross-entropy loss"
    in_bank = frozenset({"cross-entropy loss"})
    assert label_of(both, techniques=shipped, in_bank=in_bank) == "Label smoothing"
    # Named by under half of the questions: no technique's name.
    other = ["How do I boil rice?", "rice?", "What is LoRA?"]
    assert label_of(other, techniques=shipped) == "rice?"


def test_of_as_many_askers_a_technique_no_entry_is_about_is_listed_first():
    shipped = techniques()
    questions = [
        "How does FedAvg average client updates?",  # no entry is about it
        "联邦学习的通信开销为什么大？",
        "How does batch normalization behave at batch size 2?",  # the bank has an entry on it,
        "BatchNorm 在推理时用什么统计量？",  # and it was asked more recently
    ]
    rows = [asked(n, q, user=f"u{n}") for n, q in enumerate(questions)]
    v = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    found = gaps_of(rows, v, techniques=shipped, in_bank=frozenset({"batch normalization"}))
    assert [(g.label, g.askers, g.missing) for g in found] == [
        ("Federated learning", 2, True),
        ("Batch normalization", 2, False),
    ]
    # Askers still come first: a third asker on batch norm puts it on top.
    rows.append(asked(4, questions[2], user="u4"))
    v = np.vstack([v, [1.0, 0.0]])
    found = gaps_of(rows, v, techniques=shipped, in_bank=frozenset({"batch normalization"}))
    assert [(g.label, g.askers) for g in found] == [
        ("Batch normalization", 3),
        ("Federated learning", 2),
    ]
    # Without the techniques: the most recent first.
    assert [g.missing for g in gaps_of(rows[:4], v[:4])] == [False, False]
    assert gaps_of(rows[:4], v[:4])[0].asked[0].question == questions[2]


def test_novel_terms_are_those_of_art_no_entry_uses():
    known = known_terms(["LoRA adds a low-rank update to frozen weights during fine-tuning."])
    assert {"lora", "lowrank", "weights", "frozen"} <= known
    assert novel_terms("How is TransE different from LoRA?", known) == {"transe"}
    assert novel_terms("What is grokking, and why does it happen late?", known) == {"grokking"}
    # Everyday words, stop words and numbers are no terms of art.
    assert novel_terms("What should I cook for dinner in 2026?", known) == frozenset()
    assert novel_terms("什么是 grokking 现象？", known) == {"grokking"}


def test_a_label_prefers_a_term_the_bank_does_not_use():
    known = known_terms(["Training a network: the loss, the optimizer and the schedule."])
    questions = ["Why is GAN training unstable?", "GAN 训练为什么不稳定？", "How is a GAN trained?"]
    assert label_of(questions) != "GAN"  # without the bank's words, "training" ties
    assert label_of(questions, known=known) == "GAN"
    # A plain word one question alone uses (a typo), however often it is asked, names
    # nothing; two different questions using it, it does.
    typo = "why combine embeddigns?"
    assert label_of([typo, typo], known=known) == typo
    assert label_of([typo, "embeddigns, why?"], known=known) == "embeddigns"


def test_in_field_weighs_the_margin_where_a_bar_was_measured():
    question = "What does temperature do?"
    hit = (SearchHit("a", "s.md", "Temperature", question, "concept", "en", 0.9),)
    off = SearchResult("q", False, hit, Signals(domain_terms=1))
    related = SearchResult("q", False, hit, Signals(domain_terms=2), related=True)
    assert in_field(off) and in_field(related)  # no bar: a field term is enough
    assert not in_field(off, margin=0.01, bar=0.025)  # "what temperature for cookies"
    assert in_field(off, margin=0.03, bar=0.025)
    # Related is not enough under the bar: distilling rice wine finds the distillation entry.
    assert not in_field(related, margin=0.02, bar=0.025)
    assert in_field(related, margin=0.025, bar=0.025)
    # Naming a technique of the field (FedAvg in a short question the embedder finds about
    # as near the kitchen) is enough where the question is nearer the bank at all; an everyday
    # question using a technique's name (a diet that "overfits") is not.
    assert in_field(off, margin=0.01, bar=0.025, technique=True)
    assert not in_field(off, margin=-0.02, bar=0.025, technique=True)
    assert in_field(off, technique=True)  # no bar measured: the name is enough


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


def test_a_question_naming_no_technique_takes_the_nearest_family_only_when_clear():
    table = techniques()
    families = ["knowledge editing", "lora", "model merging", "rope scaling", "unlearning"]
    questions = [
        "What is LoRA?",  # named: keeps its own
        "How do I stretch positions past the trained length?",  # near and clear
        "Can a network be made to drop one thing it saw?",  # near, but another is as near
        "Which adapter size suits a small dataset?",  # not near enough of all; clear among asked
        "Can two fine-tuned models be averaged?",  # among asked, but three families are nearer
        "What should I cook tonight?",  # too far
    ]
    scores = np.array(
        [
            [0.1, 0.9, 0.1, 0.1, 0.1],
            [0.1, 0.2, 0.1, 0.6, 0.1],
            [0.6, 0.1, 0.1, 0.2, 0.59],
            [0.4, 0.35, 0.38, 0.1, 0.1],
            [0.42, 0.33, 0.44, 0.1, 0.4],
            [0.2, 0.1, 0.1, 0.1, 0.3],
        ]
    )
    assert [bool(table.find(q)) for q in questions] == [True, False, False, False, False, False]
    # The second family named in the workspace is one a question was given by its meaning.
    assert meant(questions, (families, scores), table) == {
        questions[1]: "rope scaling",
        questions[3]: "lora",
    }
    # Alone, a question is never given a family by the second rule: none is asked about.
    assert meant(questions[3:4], (families, scores[3:4]), table) == {}
