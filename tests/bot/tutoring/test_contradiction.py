"""Negation and antonym cues, both languages, without a model."""

from __future__ import annotations

import pytest

from bot.tutoring.contradiction import clauses, default_cues, negated, read_cues, reversed_terms


@pytest.mark.parametrize(
    "clause",
    [
        "the cache size does not depend on the sequence length",
        "the optimiser never needs the loss to be divided",
        "batch size is irrelevant here",
        "长上下文不会增加显存压力",
        "校准数据对 PTQ 的效果没有影响",
        "训练成本跟模型结构无关",
        "不需要单独同意",
        "这并非 KV cache 的作用",
    ],
)
def test_a_denial_is_seen_in_both_languages(clause):
    assert negated(clause)


@pytest.mark.parametrize(
    "clause",
    [
        "the cache stores keys and values of past tokens",
        "it not only saves compute but also time",
        "非对称量化用 min 和 max 算 scale",
        "训练过程中 loss 不断下降",
        "两者的粒度不同",
        "limited by memory bandwidth rather than FLOPs",
        "带宽受限，而不是算力受限",
    ],
)
def test_words_that_only_look_like_a_denial_are_not_one(clause):
    assert not negated(clause)


def test_a_negation_reaches_only_its_own_clause():
    parts = clauses("This is not hard to see, the cache keeps K and V of every past token.")
    assert [negated(p) for p in parts] == [True, False]
    assert clauses("显存带宽受限；上下文越长，缓存越大。") == [
        "显存带宽受限",
        "上下文越长",
        "缓存越大",
    ]


@pytest.mark.parametrize(
    ("reference", "claim", "word"),
    [
        (
            "a finer granularity gives a smaller error",
            "a finer granularity gives a larger error",
            "larger",
        ),
        ("粒度越细误差越小", "粒度越细误差越大", "越大"),
        ("decoding is memory-bound", "decoding is compute bound", "compute bound"),
        ("unscale gradients before clipping", "unscale gradients after clipping", "after"),
    ],
)
def test_an_antonym_swap_is_caught(reference, claim, word):
    assert word in reversed_terms(reference, claim)


def test_saying_both_sides_of_a_pair_is_no_swap():
    # The reference itself speaks of larger and smaller: the answer's "larger" reverses nothing.
    reference = "too large a range makes the rounding error larger, too small a range clips"
    assert reversed_terms(reference, "a range too large makes the rounding error larger") == []


def test_the_cue_files_are_read_by_section(tmp_path):
    path = tmp_path / "cues.txt"
    path.write_text(
        "# comment\n[negation]\nnope\n[exception]\nnope not\n[antonym]\nup | down\n",
        encoding="utf-8",
    )
    cues = read_cues([path])
    assert cues.negations == ("nope",) and cues.antonyms == (("up", "down"),)
    assert negated("nope, wrong", cues) and not negated("nope not quite", cues)


def test_the_shipped_cues_cover_both_languages():
    cues = default_cues()
    assert {"not", "never", "irrelevant", "不", "没有", "无关", "不需要"} <= set(cues.negations)
    assert ("increases", "decreases") in cues.antonyms and ("增大", "减小") in cues.antonyms
